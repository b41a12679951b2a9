/**
 * `conformDocument`, the one place where the generated OpenAPI document is made acceptable to
 * client generators: a table of schema fragments and what they become.
 */

import { describe, expect, test } from "bun:test";
import { conformDocument } from "../../src/http/openapi.ts";

type Json = Parameters<typeof conformDocument>[0][string];

/** A one-operation document's paths, answering `schema`. */
function pathsAnswering(schema: Json): Json {
  return {
    "/x": { get: { responses: { "200": { content: { "application/json": { schema } } } } } },
  };
}

/** What conformDocument makes of `schema` in such a document, with the components it names. */
function conformed(schema: Json, registered: Record<string, Json> = {}) {
  return conformDocument({ paths: pathsAnswering(schema), components: { schemas: registered } });
}

describe("conformDocument", () => {
  test.each<[string, Json, Json]>([
    [
      "an integer enum declared string is typed integer",
      { type: "string", enum: [0, 1, 2] },
      { type: "integer", enum: [0, 1, 2] },
    ],
    [
      "integers with a fraction are one number type",
      { type: "string", enum: [1, 1.5] },
      { type: "number", enum: [1, 1.5] },
    ],
    [
      "a union of literals is written as an enum",
      {
        description: "d",
        anyOf: [
          { const: 0, type: "number" },
          { const: 1, type: "number" },
        ],
      },
      { description: "d", enum: [0, 1], type: "integer" },
    ],
    [
      "a union with another member stays a union",
      { anyOf: [{ const: "a", type: "string" }, { type: "null" }] },
      { anyOf: [{ const: "a", type: "string" }, { type: "null" }] },
    ],
    [
      "a string enum stays string",
      { type: "string", enum: ["a", "b"] },
      { type: "string", enum: ["a", "b"] },
    ],
    [
      "a mixed enum lists its types",
      { enum: ["a", 1, null] },
      { enum: ["a", 1, null], type: ["string", "integer", "null"] },
    ],
    [
      "a record's catch-all pattern becomes additionalProperties",
      { type: "object", patternProperties: { "^(.*)$": { type: "string" } } },
      { type: "object", additionalProperties: { type: "string" } },
    ],
    [
      "other patterns are kept",
      { type: "object", patternProperties: { "^x-": { type: "string" } } },
      { type: "object", patternProperties: { "^x-": { type: "string" } } },
    ],
    [
      "examples and defaults are data and are left alone",
      {
        type: "object",
        examples: [{ $id: "#/components/schemas/Nope", enum: [1] }],
        default: { enum: [1] },
      },
      {
        type: "object",
        examples: [{ $id: "#/components/schemas/Nope", enum: [1] }],
        default: { enum: [1] },
      },
    ],
  ])("%s", (_, input, output) => {
    expect(conformed(input).paths).toEqual(pathsAnswering(output));
  });

  test("a schema with a component $id is defined once and referenced wherever it is used", () => {
    const model = {
      $id: "#/components/schemas/Thing",
      type: "object",
      properties: { n: { type: "string", enum: [1] } },
    };
    const document = conformed({
      type: "object",
      properties: { a: model, b: { type: "array", items: model } },
    });
    expect(document.paths).toEqual(
      pathsAnswering({
        type: "object",
        properties: {
          a: { $ref: "#/components/schemas/Thing" },
          b: { type: "array", items: { $ref: "#/components/schemas/Thing" } },
        },
      }),
    );
    expect(document.components).toEqual({
      schemas: { Thing: { type: "object", properties: { n: { type: "integer", enum: [1] } } } },
    });
  });

  test("a registered component keeps its name and loses its $id; its copies become $refs", () => {
    const envelope = { $id: "#/components/schemas/ErrorEnvelope", type: "object" };
    const document = conformed(envelope, { ErrorEnvelope: envelope });
    expect(document.paths).toEqual(pathsAnswering({ $ref: "#/components/schemas/ErrorEnvelope" }));
    expect(document.components).toEqual({ schemas: { ErrorEnvelope: { type: "object" } } });
  });
});
