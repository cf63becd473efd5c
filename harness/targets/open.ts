import type { Target } from '../target.ts';
import type { TargetPlan } from '../test-plan.ts';
import { QemuTarget } from './qemu.ts';
import { SerialTarget } from './serial.ts';
import { V86Target } from './v86.ts';
import { V86BrowserTarget } from './v86-browser.ts';

/** The target a checked plan names. Creating one may take resources (a temp folder); close() it. */
export function openTarget(t: TargetPlan): Target {
  switch (t.kind) {
    case 'serial':
      return new SerialTarget(t);
    case 'v86':
      return new V86Target(t.name, t.image);
    case 'qemu':
      return new QemuTarget(t.name, t.image);
    case 'v86-browser':
      return new V86BrowserTarget(t.name, t.image);
  }
}
