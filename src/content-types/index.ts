import { Elysia } from "elysia";
import type { Services } from "../services.ts";

export function contentTypeRoutes(services: Services) {
  return new Elysia().use(services.auth);
}
