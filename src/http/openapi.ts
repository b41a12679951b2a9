/**
 * The OpenAPI document at `/swagger/json` and the Swagger UI at `/swagger`. @elysiajs/openapi
 * writes the document's operations; the routes' own TypeBox schemas then replace its copies of
 * them (it loses what each enum value means), and `conformDocument` turns the whole, in this one
 * place, into a document that client generators and linters (Redocly's recommended rules)
 * accept: named components instead of inline copies, enums typed like their values, records as
 * `additionalProperties`. Every schema a route declares later gets the same treatment.
 */

import { openapi } from "@elysiajs/openapi";
import { KindGuard } from "@sinclair/typebox";
import { Elysia, type InternalRoute } from "elysia";
import { VERSION } from "../version.ts";
import { ErrorEnvelope } from "./envelope.ts";
import type { FormUpload } from "./form-upload.ts";
import { FORM_MEDIA_TYPE, JSON_MEDIA_TYPE } from "./media-type.ts";
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
    { name: "API keys", description: "What the presented key may do" },
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

/** Whether `schema` is one literal: `{const}`, perhaps with its `type`. */
function isLiteral(schema: Json): schema is JsonObject & { const: Json } {
  return (
    isObject(schema) &&
    "const" in schema &&
    Object.keys(schema).every((key) => key === "const" || key === "type")
  );
}

/** One schema, children first: named schemas become `$ref`s collected into `components`. */
function conformSchema(schema: Json, components: JsonObject): Json {
  if (Array.isArray(schema)) return schema.map((item) => conformSchema(item, components));
  if (!isObject(schema)) return schema;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    out[key] = DATA_KEYS.has(key) ? value : conformSchema(value, components);
  }
  // A union of literals (TypeBox's spelling of an enum) is written as the `enum` it is.
  const members = out.anyOf;
  if (Array.isArray(members) && members.length > 0 && members.every(isLiteral)) {
    delete out.anyOf;
    out.enum = members.map((member) => member.const);
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

/** A route schema as JSON Schema: TypeBox schemas are JSON Schema once their symbols are gone. */
function jsonSchemaOf(schema: unknown): Json | undefined {
  return KindGuard.IsSchema(schema) ? JSON.parse(JSON.stringify(schema)) : undefined;
}

/** Each schema of a route's documented statuses, by status. */
function responseSchemasOf(response: unknown): Map<string, Json> {
  const schemas = new Map<string, Json>();
  const single = jsonSchemaOf(response);
  if (single !== undefined) return schemas.set("200", single);
  if (!isObject(response)) return schemas;
  for (const [status, schema] of Object.entries(response)) {
    const json = jsonSchemaOf(schema);
    if (json !== undefined) schemas.set(status, json);
  }
  return schemas;
}

/** Every media type's schema of `content` set to `schema`. */
function setContentSchemas(content: Json | undefined, schema: Json): void {
  if (!isObject(content)) return;
  for (const media of Object.values(content)) if (isObject(media)) media.schema = schema;
}

/**
 * The media types a body is accepted in, as the front door decides: JSON, and for a route with
 * a form upload the file in its field too. The plugin would list urlencoded and multipart forms
 * for every route, which the front door answers with 415.
 */
function requestBodyContent(body: Json, upload: FormUpload | undefined): JsonObject {
  const content: JsonObject = { [JSON_MEDIA_TYPE]: { schema: body } };
  if (upload) {
    content[FORM_MEDIA_TYPE] = {
      schema: {
        type: "object",
        required: [upload.field],
        properties: {
          [upload.field]: {
            type: "string",
            format: "binary",
            description: "The JSON document as a file",
          },
        },
        additionalProperties: false,
      },
    };
  }
  return content;
}

/** What the front door answers any route that takes a body, before the route is reached. */
const BODY_REFUSALS: Record<string, string> = {
  "413": "The body is over 1 MiB",
  "415": "The body is not of a media type the route accepts",
};

/**
 * The routes' own schemas put back in place of the plugin's copies: the plugin rewrites each
 * union of literals as a bare `{type: "string", enum}`, dropping its description (what
 * `eventType: 0` means) and examples. Changes `document`, a fresh copy.
 */
function restoreRouteSchemas(
  document: JsonObject,
  routes: readonly InternalRoute[],
  formUploads: readonly FormUpload[],
): void {
  const errorSchema = jsonSchemaOf(ErrorEnvelope) ?? {};
  const paths = isObject(document.paths) ? document.paths : {};
  for (const route of routes) {
    const item = paths[route.path.replace(/:([^/?]+)/g, "{$1}")];
    const operation = isObject(item) ? item[route.method.toLowerCase()] : undefined;
    if (!isObject(operation)) continue;
    const { body, params, query, response } = route.hooks;
    const bodySchema = jsonSchemaOf(body);
    if (bodySchema !== undefined && isObject(operation.requestBody)) {
      const upload = formUploads.find(
        ({ method, paths: uploadPaths }) =>
          method === route.method && uploadPaths.includes(route.path),
      );
      operation.requestBody.content = requestBodyContent(bodySchema, upload);
    }
    const parameterSources: Record<string, Json | undefined> = {
      path: jsonSchemaOf(params),
      query: jsonSchemaOf(query),
    };
    for (const parameter of Array.isArray(operation.parameters) ? operation.parameters : []) {
      if (!isObject(parameter) || typeof parameter.in !== "string") continue;
      const source = parameterSources[parameter.in];
      const properties = isObject(source) ? source.properties : undefined;
      const schema =
        isObject(properties) && typeof parameter.name === "string"
          ? properties[parameter.name]
          : undefined;
      if (schema !== undefined) parameter.schema = schema;
    }
    const answers = isObject(operation.responses) ? operation.responses : {};
    for (const [status, schema] of responseSchemasOf(response)) {
      const answer = answers[status];
      if (isObject(answer)) setContentSchemas(answer.content, schema);
    }
    if (isObject(operation.requestBody)) {
      for (const [status, description] of Object.entries(BODY_REFUSALS)) {
        answers[status] ??= {
          description,
          content: { [JSON_MEDIA_TYPE]: { schema: errorSchema } },
        };
      }
      operation.responses = answers;
    }
  }
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
 * document, conformed once per set of routes). `routes` gives every route of the app, whose
 * schemas the document shows; `formUploads`, the routes that also take a form upload.
 */
export function apiDocumentation(
  routes: () => readonly InternalRoute[],
  formUploads: readonly FormUpload[],
) {
  const conformed = new WeakMap<object, JsonObject>();
  // Unnamed, like the auth plugin: a name would let Elysia dedupe two apps' documentation.
  return new Elysia()
    .onAfterHandle(({ route, responseValue: generated }) => {
      if (route !== OPENAPI_DOCUMENT_PATH || !isObject(generated)) return;
      // The plugin answers the same object until routes are added: conform each one once.
      let document = conformed.get(generated);
      if (!document) {
        // Through JSON: the plugin's copies still carry TypeBox's symbol keys.
        const copy: JsonObject = JSON.parse(JSON.stringify(generated));
        restoreRouteSchemas(copy, routes(), formUploads);
        document = conformDocument(copy);
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
