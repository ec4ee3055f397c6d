// The webview side of the host bridge: acquireVsCodeApi() may be called once per page, so it is called here
// and nowhere else, typed with the messages the page may post and the state it persists.

interface VsCodeApi<Out, State> {
  postMessage(message: Out): void;
  getState(): State | undefined;
  setState(state: State): void;
}

declare function acquireVsCodeApi<Out, State>(): VsCodeApi<Out, State>;

export function connect<Out, State>(): VsCodeApi<Out, State> {
  return acquireVsCodeApi<Out, State>();
}

/** Calls `handler` for each message the host posts (VS Code delivers them as window message events). */
export function onHostMessage<In>(handler: (message: In) => void): void {
  window.addEventListener('message', (event: MessageEvent) => {
    const data: unknown = event.data;
    if (typeof data === 'object' && data !== null && typeof (data as { type?: unknown }).type === 'string') handler(data as In);
  });
}
