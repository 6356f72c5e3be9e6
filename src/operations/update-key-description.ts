import { z } from 'zod';
import { Description, KeyOnlyId } from '../domain/params.js';
import { changeKey, type NextKey } from './key-change.js';
import { defineOperation } from './operation.js';
import { KeyMetadataResponse, KeyPath, keyMetadata, nothing, RegionQuery } from './presenters.js';

// UpdateKeyDescription (spec section 3): replaces the description; any state.

export const UpdateKeyDescriptionInput = z.object({ KeyId: KeyOnlyId, Description });

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
