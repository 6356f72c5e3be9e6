import { z } from 'zod';
import { because, Description, KeyOnlyId, takesEmptyValue } from '../domain/params.js';
import { changeKey, type NextKey } from './key-change.js';
import { defineOperation } from './operation.js';
import { KeyMetadataResponse, KeyPath, keyMetadata, nothing, RegionQuery } from './presenters.js';

// UpdateKeyDescription (spec sections 3 and 20.2): replaces the description, "" deletes it; any state.

// Present and empty clears the description (spec section 20.2: Alibaba's operation adds,
// changes or deletes it); absent is still MissingParameter.
const NewDescription = takesEmptyValue(
  because(
    Description.describe('Free text, at most 8192 characters; "" deletes the description'),
    'it must be text of at most 8192 characters, without NUL',
  ),
);

export const UpdateKeyDescriptionInput = z.object({ KeyId: KeyOnlyId, Description: NewDescription });

export const nextUpdateKeyDescription =
  (description: string): NextKey =>
  () => ({ description });

export const updateKeyDescription = defineOperation({
  name: 'UpdateKeyDescription',
  input: UpdateKeyDescriptionInput,
  run: (deps, ctx, input) =>
    changeKey(deps, ctx, 'UpdateKeyDescription', input.KeyId, nextUpdateKeyDescription(input.Description)),
  rpc: nothing,
  rest: [
    {
      method: 'PATCH',
      url: '/v1/keys/:KeyId',
      summary: "Change a key's description (UpdateKeyDescription)",
      tags: ['Keys'],
      status: 200,
      params: KeyPath,
      querystring: RegionQuery,
      body: UpdateKeyDescriptionInput.omit({ KeyId: true }),
      response: KeyMetadataResponse,
      present: keyMetadata,
    },
  ],
});
