// Deactivation and reactivation requests: the same request with `spec.state` flipped, and nothing
// else changed (the check refuses a state change mixed with other edits).
import { appPath } from './index.ts';
import { openRequest, requireAllowed, type OpenedRequest } from './open.ts';
import { editApplicationText } from './manifest.ts';
import { startWithMain, type SessionOptions } from './session.ts';
import { mainText } from './state.ts';

export interface StateRequestOptions extends SessionOptions {
  name: string;
}

export async function stateRequest(kind: 'deactivate' | 'reactivate', options: StateRequestOptions): Promise<OpenedRequest> {
  const session = await startWithMain(options);
  await requireAllowed(session, session.main, options.name, kind);
  const text = mainText(session.main, appPath(options.name));
  const content = editApplicationText(text, { state: kind === 'deactivate' ? 'inactive' : 'active' });
  return openRequest(session, session.main, { kind, app: options.name, content });
}
