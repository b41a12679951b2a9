/**
 * A receiver's answer is read through the 64 KB cap as bytes arrive, never inflated first
 * (issue 13: a 1 MB gzip bomb, 1 GiB inflated, took RSS past 300 MB). Hookpost asks for
 * `Accept-Encoding: identity` and does not decompress: an answer compressed anyway is recorded
 * with its status, and its body is described instead of decoded. The delivery runs in a process
 * of its own (`gzip-bomb-probe.ts`), whose peak RSS is the measure.
 */

import { expect, test } from "bun:test";
import { join } from "node:path";
import { RESPONSE_STORE_LIMIT } from "../../src/outbound/sender.ts";

const MB = 1024 * 1024;

interface ProbeReport {
  peakRiseBytes: number;
  responseStatusCode: number;
  responseMessage: string;
  acceptEncoding: (string | null)[];
}

test("a gzip bomb is recorded with its status and its body described; peak RSS stays put", async () => {
  const probe = Bun.spawn([process.execPath, join(import.meta.dir, "gzip-bomb-probe.ts")], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [output, errors, exitCode] = await Promise.all([
    new Response(probe.stdout).text(),
    new Response(probe.stderr).text(),
    probe.exited,
  ]);
  if (exitCode !== 0) throw new Error(`the probe failed (${exitCode}): ${errors}`);
  const report = JSON.parse(output.trim().split("\n").at(-1) ?? "") as ProbeReport;

  // Before: the 64 KB bomb was inflated behind the reader's back, +115 MB of peak RSS (now 0.1).
  expect(report.peakRiseBytes).toBeLessThan(16 * MB);
  const described = "(a body with Content-Encoding gzip, not decoded: Hookpost asks for identity)";
  expect(report).toMatchObject({ responseStatusCode: 200, responseMessage: described });
  expect(described.length).toBeLessThan(RESPONSE_STORE_LIMIT);
  expect(report.acceptEncoding).toEqual(["identity", "identity"]);
});
