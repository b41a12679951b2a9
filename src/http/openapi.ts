/**
 * The OpenAPI document at `/swagger/json` and the Swagger UI at `/swagger`. @elysiajs/openapi
 * writes the document from the routes' schemas; `conformDocument` then turns it, in this one
 * place, into a document that client generators and linters (Redocly's recommended rules)
 * accept: named components instead of inline copies, enums typed like their values, records as
 * `additionalProperties`. Every schema a route declares later gets the same treatment.
 */

import { openapi } from "@elysiajs/openapi";
import { Elysia } from "elysia";
import { VERSION } from "../version.ts";
import { SWAGGER_BUNDLE_URL, SWAGGER_STYLESHEET_URL } from "./swagger-assets.ts";

/** Where Swagger UI is served. */
export const SWAGGER_PATH = "/swagger";

/** Where the OpenAPI document is served. */
export const OPENAPI_DOCUMENT_PATH = "/swagger/json";

/** What a schema's `$id` looks like when the schema is to be a named component. */
const COMPONENT_ID = /^#\/components\/schemas\/([A-Za-z0-9_.-]+)$/;

/** Keys whose values are data, not schemas: a `$id` or `enum` key in them is left alone. */
const DATA_KEYS = new Set(["examples", "example", "default", "const"]);

/** The key TypeBox gives a record's values: any property name. */
const ANY_PROPERTY_NAME = "^(.*)$";

const DOCUMENTATION = {
  info: {
    title: "Hookpost API",
    version: VERSION,
    description:
      "Self-hosted webhook delivery for headless CMSs. Authenticate with the `X-Api-Key` header " +
      "(Authorize button above). Read keys may call GET routes; write keys may call everything.",
    license: { name: "MIT", identifier: "MIT" },
  },
  // Each installation has its own address: paths are relative to wherever this document is served.
  servers: [{ url: "/", description: "This Hookpost server" }],
  components: {
    securitySchemes: {
      ApiKeyAuth: { type: "apiKey" as const, in: "header" as const, name: "X-Api-Key" },
    },
  },
  tags: [
    {
      name: "Webhooks",
      description: "Create, configure, enable, disable, rotate and test webhooks",
    },
    { name: "Events", description: "Publish content events; they fan out to matching webhooks" },
    {
      name: "Delivery log",
      description: "Every delivery and attempt of a webhook; retry, replay and samples",
    },
    { name: "Content types", description: "The content types events refer to, with their fields" },
    {
      name: "Plugins",
      description: "Loaded plugins; CMS webhooks received through source plugins",
    },
    { name: "Operations", description: "Health and metrics, open without a key" },
  ],
};

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The JSON Schema type of one enum value. */
function typeOfValue(value: Json): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

/**
 * The `type` an enum's values have. The plugin declares every enum of literals `string`, so
 * the integer enums (event types, process status) were `type: string, enum: [0, 1, …]`.
 */
function typeOfEnum(values: Json[]): string | string[] {
  const types = [...new Set(values.map(typeOfValue))];
  // Integers are numbers: a mix of both is one `number`.
  const merged = types.includes("number") ? types.filter((type) => type !== "integer") : types;
  return merged.length === 1 ? (merged[0] ?? "string") : merged;
}

/** One schema, children first: named schemas become `$ref`s collected into `components`. */
function conformSchema(schema: Json, components: JsonObject): Json {
  if (Array.isArray(schema)) return schema.map((item) => conformSchema(item, components));
  if (!isObject(schema)) return schema;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    out[key] = DATA_KEYS.has(key) ? value : conformSchema(value, components);
  }
  if (Array.isArray(out.enum)) out.type = typeOfEnum(out.enum);
  // TypeBox writes a record as `patternProperties` with a catch-all pattern; generators read the
  // standard spelling of the same thing.
  const patterns = out.patternProperties;
  if (isObject(patterns) && Object.keys(patterns).length === 1 && ANY_PROPERTY_NAME in patterns) {
    delete out.patternProperties;
    out.additionalProperties = patterns[ANY_PROPERTY_NAME] ?? {};
  }
  const id = typeof out.$id === "string" ? COMPONENT_ID.exec(out.$id)?.[1] : undefined;
  if (id === undefined) return out;
  delete out.$id;
  components[id] ??= out;
  return { $ref: `#/components/schemas/${id}` };
}

/**
 * The generated document made acceptable to client generators: every schema carrying a `$id`
 * of `#/components/schemas/<Name>` is defined once under that name and referenced wherever it
 * is used, and every enum's `type` matches its values. Pure: the input is not changed.
 */
export function conformDocument(document: JsonObject): JsonObject {
  const components = isObject(document.components) ? document.components : {};
  const named: JsonObject = {};
  // The components first: a model registered with `.model()` keeps its place and name.
  const registered = isObject(components.schemas) ? components.schemas : {};
  for (const [name, schema] of Object.entries(registered)) {
    const conformed = conformSchema(schema, named);
    // A registered schema with its own `$id` comes back as a `$ref` to itself.
    if (!(isObject(conformed) && conformed.$ref === `#/components/schemas/${name}`)) {
      named[name] = conformed;
    }
  }
  const paths = conformSchema(document.paths ?? {}, named);
  return { ...document, paths, components: { ...components, schemas: named } };
}

/**
 * `/swagger` (Swagger UI, with the assets of `swaggerAssets`) and `/swagger/json` (the
 * document, conformed once per set of routes).
 */
export function apiDocumentation() {
  const conformed = new WeakMap<object, JsonObject>();
  // Unnamed, like the auth plugin: a name would let Elysia dedupe two apps' documentation.
  return new Elysia()
    .onAfterHandle(({ route, responseValue: generated }) => {
      if (route !== OPENAPI_DOCUMENT_PATH || !isObject(generated)) return;
      // The plugin answers the same object until routes are added: conform each one once.
      let document = conformed.get(generated);
      if (!document) {
        // Through JSON: the plugin's copies still carry TypeBox's symbol keys.
        document = conformDocument(JSON.parse(JSON.stringify(generated)));
        conformed.set(generated, document);
      }
      return document;
    })
    .use(
      openapi({
        path: SWAGGER_PATH,
        specPath: OPENAPI_DOCUMENT_PATH,
        provider: "swagger-ui",
        documentation: DOCUMENTATION,
        exclude: { paths: [SWAGGER_PATH, OPENAPI_DOCUMENT_PATH] },
        swagger: {
          cdn: SWAGGER_BUNDLE_URL,
          theme: SWAGGER_STYLESHEET_URL,
          autoDarkMode: false,
          persistAuthorization: true,
        },
      }),
    );
}
