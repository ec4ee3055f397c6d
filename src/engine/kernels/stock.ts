// The stock kernels that the project's kernels replaced, for the cases they hand back to them.

import { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';

const replaced = new Map<string, KernelConfig>();

const key = (kernelName: string, backendName: string) => `${backendName}_${kernelName}`;

export function rememberStock(config: KernelConfig): void {
  replaced.set(key(config.kernelName, config.backendName), config);
}

export function forgetStock(kernelName: string, backendName: string): KernelConfig | undefined {
  const config = replaced.get(key(kernelName, backendName));
  replaced.delete(key(kernelName, backendName));
  return config;
}

/** Backend instances each replaced kernel's setupFunc has run on. */
const setUp = new WeakMap<KernelConfig, WeakSet<object>>();

/**
 * The stock kernel a project kernel replaced, for the inputs the project kernel leaves to it.
 * The engine runs a kernel's setupFunc (e.g. wasm's cwrap of its C++ function) only for kernels
 * registered when the backend initialises; if ours replaced the stock one before that, the
 * stock setup never ran, so it is run here once per backend instance.
 */
export function stockKernel(kernelName: string, backendName: string): KernelFunc {
  const config = replaced.get(key(kernelName, backendName));
  if (config === undefined) {
    throw new Error(`No stock '${kernelName}' kernel for backend '${backendName}' to fall back to`);
  }
  const { setupFunc, kernelFunc } = config;
  if (setupFunc === undefined) return kernelFunc;
  return (args) => {
    const backends = setUp.get(config) ?? new WeakSet<object>();
    setUp.set(config, backends);
    if (!backends.has(args.backend)) {
      setupFunc(args.backend);
      backends.add(args.backend);
    }
    return kernelFunc(args);
  };
}
