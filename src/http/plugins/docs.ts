import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';

// The OpenAPI document of the REST face, generated from the route schemas (written to
// openapi.yaml by `npm run openapi`), and Swagger UI at /docs. Register it before the
// routes: it collects them as they are added.

export async function registerDocs(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'KMS emulator: REST face',
        description:
          'Local emulator of Alibaba Cloud KMS (keys, aliases, encryption). The RPC face at `/` speaks the ' +
          'Alibaba SDKs’ protocol; this document describes the REST face under `/v1`.',
        version: '2016-01-20',
      },
      servers: [{ url: 'http://127.0.0.1:8080' }],
      components: {
        securitySchemes: {
          basic: { type: 'http', scheme: 'basic', description: 'AccessKeyId:AccessKeySecret' },
          acs3: {
            type: 'apiKey',
            in: 'header',
            name: 'Authorization',
            description: 'ACS3-HMAC-SHA256 Credential=<ak>,SignedHeaders=<list>,Signature=<hex>',
          },
        },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
}
