// Calls `fn` at most once per `ms`, always ending with a call after the last request (trailing edge).

export interface Throttled {
  (): void;
  cancel(): void;
  /** Runs a pending call now. */
  flush(): void;
}

export function throttle(fn: () => void, ms: number): Throttled {
  let last = 0;
  let timer: NodeJS.Timeout | undefined;
  const run = () => {
    timer = undefined;
    last = Date.now();
    fn();
  };
  const t = (() => {
    if (timer) return;
    const wait = Math.max(0, last + ms - Date.now());
    timer = setTimeout(run, wait);
  }) as Throttled;
  t.cancel = () => { clearTimeout(timer); timer = undefined; };
  t.flush = () => { if (timer) { clearTimeout(timer); run(); } };
  return t;
}
