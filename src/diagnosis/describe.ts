// Plain-language descriptions shared by the trainer's messages, the findings and the UIs.

import type { NonFiniteOrigin } from '../protocol';

export function describeNonFinite(n: NonFiniteOrigin): string {
  switch (n.where) {
    case 'forward': return `NaN/Inf in the output of ${n.layer} at step ${n.step} (forward pass)`;
    case 'gradient': return `NaN/Inf gradients in ${n.layer} at step ${n.step}`;
    case 'weight': return `NaN/Inf weights in ${n.layer} after step ${n.step}`;
    default: return `Non-finite loss at step ${n.step}`;
  }
}
