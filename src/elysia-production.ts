/**
 * Runs Elysia in production mode unless `NODE_ENV` says otherwise. Elysia builds each
 * validation error's message when the error is made; outside production that message holds the
 * request body pretty-printed, an example value of the schema and up to 64 errors found by a
 * full walk of the body — for a 1 MiB `PUT /webhooks` of 75,000 `eventTypes` keys about 100 ms
 * and 100 MB of garbage per request, which a write key could repeat at will. Hookpost never
 * shows that message (its envelope names the fields itself). Elysia reads `NODE_ENV` once, as
 * its module loads, so `main.ts` imports this module before anything else.
 */

process.env.NODE_ENV ??= "production";
