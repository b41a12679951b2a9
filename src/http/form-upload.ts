/**
 * A JSON document sent as a file in a `multipart/form-data` form, the way Contentstack documents
 * its webhook import (seed 002: "a 'Body' parameter named webhook under form-data … the JSON
 * file"). The front door takes the file out of the (already size-capped) form and hands the
 * route its text as an ordinary JSON body, so the route has one input and one validation.
 */

import type { FieldProblem } from "../errors.ts";
import { type DeclaredRoute, routePathMatches } from "./route-paths.ts";

/** Routes that also accept their JSON body as one file of a form. */
export interface FormUpload {
  method: string;
  /** Route paths as declared (`/webhooks/:id/import`). */
  paths: readonly string[];
  /** The form field that carries the file. */
  field: string;
}

/** The upload that `method` and `path` (a URL's pathname) reach, if any. */
export function formUploadFor(
  uploads: readonly FormUpload[],
  { method, path }: DeclaredRoute,
): FormUpload | undefined {
  return uploads.find(
    (upload) =>
      upload.method === method &&
      upload.paths.some((routePath) => routePathMatches(routePath, path)),
  );
}

/** How many unexpected parts an answer names: a form of many tiny parts gets a short answer. */
const MAX_REPORTED_PARTS = 10;

/** The file's text, or what is wrong with the form. */
export type UploadedText = { text: string } | { problems: FieldProblem[] };

/**
 * The text of the one part named `upload.field` (a file, or a plain field holding the
 * document), from a form whose bytes have already been read within the body limit. A form
 * that cannot be parsed, lacks the part, or has any other part is a list of problems.
 */
export async function uploadedText(
  bytes: Uint8Array,
  contentType: string,
  upload: FormUpload,
): Promise<UploadedText> {
  const form = await new Response(bytes, { headers: { "content-type": contentType } })
    .formData()
    .catch(() => null);
  if (!form) {
    return {
      problems: [{ field: "(body)", message: "not a readable multipart/form-data body" }],
    };
  }
  const problems: FieldProblem[] = [];
  const values: (string | Blob)[] = [];
  for (const [name, value] of form.entries()) {
    if (name === upload.field) values.push(value);
    else if (problems.length < MAX_REPORTED_PARTS) {
      problems.push({ field: name, message: `unexpected part: send only "${upload.field}"` });
    }
  }
  const [value] = values;
  if (value === undefined) {
    problems.unshift({ field: upload.field, message: "required: the JSON document, as a file" });
  } else if (values.length > 1) {
    problems.unshift({
      field: upload.field,
      message: `sent ${values.length} times: send one file`,
    });
  }
  if (problems.length > 0 || value === undefined) return { problems };
  return { text: typeof value === "string" ? value : await value.text() };
}
