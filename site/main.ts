import '@xterm/xterm/css/xterm.css';
import { IMAGE_BASE, Session } from './session.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
const fastBoot = $<HTMLInputElement>('fast-boot');
fastBoot.checked = localStorage.getItem('skiff-fast-boot') !== 'off';

const session = new Session($('terminal'), {
  download: (loaded, total) => {
    $<HTMLProgressElement>('download').value = total ? loaded / total : 0;
    $('progress-text').textContent = `Downloading SkiffOS: ${mb(loaded)} of ${mb(total)}`;
  },
  booting: (how) => ($('progress-text').textContent = how === 'fast' ? 'Restoring the saved machine (fast boot)…' : 'Booting the kernel…'),
  ready: (info) => {
    $('progress').hidden = true;
    $('status-boot').textContent = `boot: ${info.fast ? 'fast boot' : 'cold boot'} to SKIFF_READY in ${(info.wallMs / 1000).toFixed(1)} s (guest ${info.guestSeconds} s)`;
    document.body.dataset.ready = info.fast ? 'fast' : 'cold';
    document.body.dataset.boots = String(Number(document.body.dataset.boots ?? 0) + 1);
    session.focus();
  },
  persisted: (info) => {
    $('status-persist').textContent = `persist: ${mb(info.storedBytes)} in IndexedDB, last saved ${new Date(info.at).toLocaleTimeString()}`;
    // Milliseconds, for the bench (the text above has whole seconds).
    document.body.dataset.savedAt = String(info.at);
  },
  stateSaved: (bytes) => ($('status-boot').textContent += ` · fast-boot state saved (${mb(bytes)})`),
});
(window as unknown as { skiff: Session }).skiff = session;

async function boot(booting = () => session.boot(IMAGE_BASE, fastBoot.checked)) {
  const result = await booting();
  if (result.image) $('status-image').textContent = `image: SkiffOS ${result.image.version}, Linux ${result.image.kernel}, ${result.image.chain.join(',')}`;
  if (result.status === 'busy') {
    document.body.dataset.busy = '1';
    $('progress-text').textContent = result.problem ?? '';
    session.terminal.writeln(`\r\n${result.problem}`);
    return;
  }
  if (result.status === 'damaged') {
    document.body.dataset.damaged = '1';
    $('damaged-problem').textContent = result.problem ?? '';
    $('damaged').classList.add('shown');
    $('progress').hidden = true;
  }
  const st = await session.api.status();
  $('status-persist').textContent = `persist: ${mb(st.storedBytes)} in IndexedDB${st.lastSaved ? `, last saved ${new Date(st.lastSaved).toLocaleTimeString()}` : ''}`;
}

function download(bytes: Uint8Array, name: string) {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/octet-stream' }));
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

$('reboot').onclick = () => void session.api.send('\nreboot\n');
$('power-cut').onclick = () => {
  session.terminal.writeln('\r\n[power cut]');
  void boot(() => session.powerCut());
};
fastBoot.onchange = () => {
  localStorage.setItem('skiff-fast-boot', fastBoot.checked ? 'on' : 'off');
  void session.setFastBoot(fastBoot.checked);
};
$('export').onclick = async () => download(await session.api.exportDisk(), 'skiff-persist.img');
$<HTMLInputElement>('import').onchange = async (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (!file) return;
  try {
    session.terminal.writeln(`\r\n[importing ${file.name}]`);
    await session.api.importDisk(new Uint8Array(await file.arrayBuffer()));
  } catch (err) {
    session.terminal.writeln(`\r\n[import refused: ${(err as Error).message}]`);
  }
};
$('wipe').onclick = async () => {
  if (!confirm('Erase the persist disk stored in this browser? Everything on it is lost.')) return;
  session.terminal.writeln('\r\n[persist wiped]');
  await session.api.wipe();
};
$('damaged-export').onclick = async () => download(await session.api.exportSalvage(), 'skiff-persist-salvaged.img');
$('damaged-wipe').onclick = async () => {
  $('damaged').classList.remove('shown');
  await session.api.wipe();
};
$('run-tests').onclick = () => void import('./tests-panel.ts').then((m) => m.runTests(session, $('tests'), $('test-results')));

void boot();
