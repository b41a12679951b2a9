/** Schemas of `GET /plugins` and `POST /sources/{name}` (SPEC §5, §8). */

import { type Static, Type as T } from "@sinclair/typebox";
import { IngestResult } from "../events/model.ts";

export const PluginSummary = T.Object(
  {
    name: T.String({ examples: ["strapi"] }),
    file: T.String({ description: "The plugin's file in HOOKPOST_PLUGINS_DIR" }),
    templaters: T.Array(T.String(), {
      description: "Template engines it adds, for webhooks' `templateEngine`",
    }),
    sources: T.Array(
      T.Object({
        name: T.String({ description: "Served at `POST /sources/{name}`" }),
        handles: T.Boolean({ description: "Whether it accepts `POST /sources/{name}`" }),
        polls: T.Boolean({ description: "Whether it polls on the scheduler's timer" }),
        contentTypes: T.Array(T.String(), {
          description: "Keys of the (read-only) content types it contributes",
        }),
      }),
    ),
    hooks: T.Array(T.Union([T.Literal("beforeDelivery"), T.Literal("afterDelivery")])),
  },
  {
    $id: "#/components/schemas/PluginModel",
    title: "PluginModel",
    examples: [
      {
        name: "strapi",
        file: "strapi.ts",
        templaters: [],
        sources: [{ name: "strapi", handles: true, polls: false, contentTypes: [] }],
        hooks: [],
      },
    ],
  },
);
export type PluginSummary = Static<typeof PluginSummary>;

export const SourceParams = T.Object({
  name: T.String({
    minLength: 1,
    maxLength: 64,
    description: "The source's name, as `GET /plugins` lists it",
    examples: ["strapi"],
  }),
});

export const SourceIngestResult = T.Object(
  {
    events: T.Array(IngestResult, {
      description:
        "One entry per event the source made of the request, in order (none when it ignored " +
        "the request); a repeated event id gets its first answer again",
    }),
  },
  {
    examples: [
      {
        events: [
          {
            eventId: "evt_01jd3x8k2mq4v9f7r2c8tb6n",
            deliveries: [{ webhookId: "wh_01jd3x7", deliveryId: "dlv_01jd3x8" }],
          },
        ],
      },
    ],
  },
);
export type SourceIngestResult = Static<typeof SourceIngestResult>;
