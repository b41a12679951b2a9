/** `GET /me`: the presented key's workspace and access, never the key itself. */

import { describe, expect } from "bun:test";
import { runScenarios } from "../helpers/scenarios.ts";

describe("GET /me", () => {
  runScenarios([
    {
      name: "a write key is told its workspace and write access",
      method: "GET",
      url: "/me",
      key: "write",
      expectedStatus: 200,
      expectedContent: { workspace: "default", access: "write" },
      after: (response, app) => {
        expect(Object.keys(response.body as object).sort()).toEqual(["access", "workspace"]);
        expect(response.text).not.toContain(app.keys.write);
      },
    },
    {
      name: "a read key is told it is read-only",
      method: "GET",
      url: "/me",
      key: "read",
      expectedStatus: 200,
      expectedContent: { workspace: "default", access: "read" },
    },
    {
      name: "another workspace's key is told its own workspace",
      method: "GET",
      url: "/me",
      key: "other",
      expectedStatus: 200,
      expectedContent: { workspace: "other", access: "write" },
    },
    {
      name: "an unknown key is 401",
      method: "GET",
      url: "/me",
      key: "unknown",
      expectedStatus: 401,
      expectedContent: { error: { code: "unauthorized" } },
    },
    { name: "no key is 401", method: "GET", url: "/me", key: "none", expectedStatus: 401 },
  ]);
});
