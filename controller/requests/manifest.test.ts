// The manifests the CLI writes for create and edit requests must load: free text that YAML 1.1
// reads as a boolean or a number (yes, off, 1_000, 12:30) is refused unquoted by the parser, so
// the writer quotes it.
import { describe, expect, it } from 'vitest';
import type { Application } from '../manifests/types.generated.ts';
import { editApplicationText, loadApplication, renderNewApplication } from './manifest.ts';

const app: Application = {
  apiVersion: 'mergekey/v1',
  kind: 'Application',
  metadata: { name: 'billing' },
  spec: {
    displayName: 'Yes',
    description: 'off',
    owners: ['alice'],
    clientId: 'mk_billing_0001',
    state: 'active',
    scopes: ['open'],
    grantTypes: ['client_credentials'],
    tokenEndpointAuthMethod: 'private_key_jwt',
    credentials: { jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' }] } },
  },
};

describe('the manifests the CLI writes', () => {
  it('quote free text that YAML 1.1 reads as a boolean or a number, so that it loads as the text', () => {
    const text = renderNewApplication(app);
    expect(text).toContain('  displayName: "Yes"\n  description: "off"\n');
    expect(loadApplication('billing', text).spec).toMatchObject({ displayName: 'Yes', description: 'off' });

    const edited = editApplicationText(text, { displayName: '12:30', description: '1_000' });
    expect(edited).toContain('  displayName: "12:30"\n  description: "1_000"\n');
    expect(loadApplication('billing', edited).spec).toMatchObject({ displayName: '12:30', description: '1_000' });
  });
});
