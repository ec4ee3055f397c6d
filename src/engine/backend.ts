// Picks the TensorFlow.js backend: the native one (@tensorflow/tfjs-node) when it loads, else wasm (SIMD),
// else pure JS — probed, not assumed, with the reason each one was or wasn't used recorded for the run.
// One backend per process: switching while tensors are alive corrupts values, so this runs once.

import * as tf from '@tensorflow/tfjs-core';
import type { BackendChoice, BackendName } from '../config/types';
import type { BackendAttempt, BackendReport } from '../protocol';
import { registerProjectKernels } from './kernels';

export const NATIVE_HINT =
  'The native backend (@tensorflow/tfjs-node) is not installed. It is several times faster on large models; ' +
  'install it with `npm install @tensorflow/tfjs-node` on a machine that can download libtensorflow ' +
  '(its install script fetches it from storage.googleapis.com).';

const AUTO_ORDER: BackendName[] = ['tensorflow', 'wasm', 'cpu'];

let selected: BackendReport | undefined;

/** The backend this process settled on, if any. */
export function currentBackend(): BackendReport | undefined {
  return selected;
}

/**
 * Loads and initializes a backend. `choice` 'auto' tries tensorflow → wasm → cpu. Throws only when an
 * explicitly requested backend cannot run (with the reason); 'auto' always ends on cpu at worst.
 */
export async function selectBackend(choice: BackendChoice, chosenBy: string): Promise<BackendReport> {
  if (selected) {
    if (choice === 'auto' || choice === selected.name) return selected;
    throw new Error(`This process already runs the ${selected.name} backend; a backend is chosen once per process (start a new run for ${choice}).`);
  }
  const order = choice === 'auto' ? AUTO_ORDER : [choice];
  const attempts: BackendAttempt[] = [];
  for (const name of order) {
    const t0 = Date.now();
    try {
      await initialize(name);
      attempts.push({ backend: name, ok: true, ms: Date.now() - t0 });
      const customKernels = registerProjectKernels(name);
      const simd = name === 'wasm' ? Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) : undefined;
      const nativeMissing = attempts.some(a => a.backend === 'tensorflow' && !a.ok);
      selected = {
        name,
        chosenBy: choice === 'auto' ? `auto: ${name === order[0] ? 'the fastest backend' : 'the fastest backend that loaded'}` : chosenBy,
        attempts,
        customKernels,
        simd,
        hint: name !== 'tensorflow' && (nativeMissing || choice === 'auto') ? NATIVE_HINT : undefined,
      };
      return selected;
    } catch (e) {
      attempts.push({ backend: name, ok: false, reason: reasonOf(name, e), ms: Date.now() - t0 });
    }
  }
  const failed = attempts[attempts.length - 1];
  throw new Error(`The ${failed.backend} backend cannot run here: ${failed.reason}${failed.backend === 'tensorflow' ? ` ${NATIVE_HINT} Or choose "backend": "wasm".` : ''}`);
}

async function initialize(name: BackendName): Promise<void> {
  if (name === 'tensorflow') {
    // Lazy: a missing or broken native module must not stop the other backends.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@tensorflow/tfjs-node');
  } else if (name === 'wasm') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@tensorflow/tfjs-backend-wasm');
  } else {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@tensorflow/tfjs-backend-cpu');
  }
  // The cpu backend prints a console banner recommending tfjs-node; the run report says that already.
  const ok = await quietly(() => tf.setBackend(name));
  if (!ok) throw new Error(`tf.setBackend('${name}') returned false`);
  await tf.ready();
  // Probe: a backend that registers but cannot compute must not be picked.
  const probe = tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync()[0]);
  if (probe !== 11) throw new Error(`probe computed ${probe} instead of 11`);
}

function reasonOf(name: BackendName, e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (name === 'tensorflow' && err.code === 'MODULE_NOT_FOUND' && /tfjs-node/.test(err.message)) {
    return '@tensorflow/tfjs-node is not installed.';
  }
  return (err.message ?? String(e)).split('\n')[0];
}

/** Runs `f` with TensorFlow.js' advisory console output filtered out. */
export async function quietly<T>(f: () => T | Promise<T>): Promise<T> {
  const warn = console.warn;
  const log = console.log;
  const noisy = /looks like you are running TensorFlow\.js in Node\.js|^=+$|Orthogonal initializer is being called|^\s*$/;
  console.warn = (...args: unknown[]) => { if (!noisy.test(String(args[0]))) warn(...args); };
  console.log = (...args: unknown[]) => { if (!noisy.test(String(args[0]))) log(...args); };
  try {
    return await f();
  } finally {
    console.warn = warn;
    console.log = log;
  }
}
