import { describe, expect, it } from 'vitest';
import { KMS_API_ACTIONS } from '../../../../src/http/rpc/kms-actions.js';
import { unknownAction } from '../../../../src/http/rpc/rpc.routes.js';
import { RPC_ACTIONS } from '../../../../src/operations/registry.js';

describe('the actions of the KMS API 2016-01-20', () => {
  it('hold every action the RPC face answers', () => {
    expect([...RPC_ACTIONS.keys()].filter((name) => !KMS_API_ACTIONS.has(name))).toEqual([]);
    expect(KMS_API_ACTIONS.size).toBeGreaterThanOrEqual(100);
  });

  it('an action of the table that is not built is UnsupportedOperation naming it; any other name is not found', () => {
    for (const name of ['GetSecretValue', 'ListSecrets', 'TagResource', 'DescribeService', 'ListKmsInstances']) {
      const err = unknownAction(name);
      expect([err.code, err.message]).toEqual([
        'UnsupportedOperation',
        `This operation is not supported: the action "${name}" is not built in this emulator`,
      ]);
    }
    expect(unknownAction('MakeCoffee').message).toBe('Specified api is not found, please check your url and method.');
    expect(unknownAction('ListKey').message).toBe(
      'Specified api is not found, please check your url and method: did you mean "ListKeys"?',
    );
    for (const name of ['toString', '__proto__', 'constructor', '', 'x'.repeat(70_000)]) {
      expect(unknownAction(name).code).toBe('InvalidAction.NotFound');
    }
  });
});
