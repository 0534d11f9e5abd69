import type { Command } from "commander";
import { NotificationsClient, type HookOwner } from "../client/notifications.js";
import { ValidationError } from "../errors.js";
import { AppNameSchema } from "../model/app.js";
import {
  HookIdSchema,
  HookUrlSchema,
  NOTIFY_EVENTS,
  NotifyEventSchema,
  type DeliveryNote,
  type HookView,
  type NotifyEvent,
} from "../model/notify.js";
import { PipelineNameSchema } from "../model/pipeline.js";
import { colours, json, table, type Output } from "../output/output.js";
import { parseWith } from "../validate.js";
import { clientFromEnv } from "./config.js";

const client = (): NotificationsClient => new NotificationsClient(clientFromEnv());

/**
 * The owner and the remaining arguments: `APP ARG…`, or with `--pipeline NAME` just `ARG…`.
 * `need` is how many arguments follow the owner.
 */
function owner(
  args: (string | undefined)[],
  pipeline: string | undefined,
  need: number,
  usage: string,
): { o: HookOwner; rest: string[]; label: string } {
  const given = args.filter((a): a is string => a !== undefined);
  if (pipeline !== undefined) {
    if (given.length !== need) throw new ValidationError(`usage: ${usage}`);
    const name = parseWith(PipelineNameSchema, pipeline, "pipeline");
    return { o: { pipeline: name }, rest: given, label: `pipeline ${name}` };
  }
  if (given.length !== need + 1) throw new ValidationError(`usage: ${usage}`);
  const app = parseWith(AppNameSchema, given[0]!, "app");
  return { o: { app }, rest: given.slice(1), label: app };
}

function parseEvents(raw: string | undefined): NotifyEvent[] | undefined {
  if (raw === undefined) return undefined;
  const list = raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (list.length === 0) throw new ValidationError("--events needs at least one event", "events");
  return list.map((e) => {
    const r = NotifyEventSchema.safeParse(e);
    if (!r.success)
      throw new ValidationError(
        `unknown event "${e}": choose from ${NOTIFY_EVENTS.join(", ")}`,
        "events",
      );
    return r.data;
  });
}

/** `gantry notifications`, `notifications:add`, `notifications:remove`, `notifications:test`. */
export function registerNotificationCommands(program: Command, o: Output): void {
  program
    .command("notifications [app]")
    .description(
      "an app's (or a pipeline's) notification webhooks: events, last delivery, last error",
    )
    .option("--pipeline <name>", "the pipeline's webhooks instead of an app's")
    .option("--json", "print as JSON")
    .addHelpText(
      "after",
      `
URLs are shown without their user, password, query values or token-like path parts.
Examples:
  $ gantry notifications hello
  $ gantry notifications --pipeline hello --json`,
    )
    .action(async (app: string | undefined, opts: { pipeline?: string; json?: boolean }) => {
      const { o: who, label } = owner(
        [app],
        opts.pipeline,
        0,
        "gantry notifications APP | --pipeline NAME",
      );
      const list = await client().list(who);
      if (opts.json === true) return json(o, list);
      showHooks(o, list, label);
    });

  program
    .command("notifications:add [app] [url]")
    .description(
      "send an app's (or a pipeline's) deploy, test and promotion events to a webhook URL",
    )
    .option(
      "--pipeline <name>",
      "the pipeline's events (every stage and review app) instead of one app's",
    )
    .option(
      "--events <list>",
      `comma-separated events (default: all of ${NOTIFY_EVENTS.join(", ")})`,
    )
    .option("--json", "print the new hook as JSON (with its secret)")
    .addHelpText(
      "after",
      `
Each event is POSTed as JSON with a Slack-compatible "text" field, signed with the hook's own
secret: X-Gantry-Signature-256: sha256=<HMAC-SHA256 of the body, hex>. The secret is printed
once, now. A receiver that does not answer 2xx is tried again with backoff (1 s, 2 s, 4 s … up
to 5 min; given up after 20 attempts or a day).
Examples:
  $ gantry notifications:add hello https://hooks.slack.com/services/T000/B000/XXXX
  $ gantry notifications:add hello https://ci.example.com/gantry --events deploy.failed,test.failed
  $ gantry notifications:add --pipeline hello https://chat.example.com/hook`,
    )
    .action(
      async (
        app: string | undefined,
        url: string | undefined,
        opts: { pipeline?: string; events?: string; json?: boolean },
      ) => {
        const usage = "gantry notifications:add APP URL | --pipeline NAME URL";
        const { o: who, rest, label } = owner([app, url], opts.pipeline, 1, usage);
        const target = parseWith(HookUrlSchema, rest[0]!, "url");
        const hook = await client().add(who, target, parseEvents(opts.events));
        if (opts.json === true) return json(o, hook);
        o.out(
          `Added notification ${hook.id} for ${label}: ${hook.events.join(", ")} → ${hook.url}`,
        );
        o.out(`Signing secret (shown only now): ${hook.secret}`);
        o.out(`Receivers check X-Gantry-Signature-256: sha256=<HMAC-SHA256 of the body with it>.`);
        o.out(
          `Try it: gantry notifications:test ${"app" in who ? who.app : `--pipeline ${who.pipeline}`} ${hook.id}`,
        );
      },
    );

  program
    .command("notifications:remove [app] [id]")
    .description("remove a notification webhook (deliveries waiting for it are dropped)")
    .option("--pipeline <name>", "a pipeline's webhook")
    .addHelpText("after", `\nExamples:\n  $ gantry notifications:remove hello 1a2b3c4d`)
    .action(
      async (app: string | undefined, id: string | undefined, opts: { pipeline?: string }) => {
        const usage = "gantry notifications:remove APP ID | --pipeline NAME ID";
        const { o: who, rest, label } = owner([app, id], opts.pipeline, 1, usage);
        const hookId = parseWith(HookIdSchema, rest[0]!, "id");
        await client().remove(who, hookId);
        o.out(`Removed notification ${hookId} of ${label}`);
      },
    );

  program
    .command("notifications:test [app] [id]")
    .description("send a test event to a notification webhook now and show how it answered")
    .option("--pipeline <name>", "a pipeline's webhook")
    .option("--json", "print the outcome as JSON")
    .addHelpText("after", `\nExamples:\n  $ gantry notifications:test hello 1a2b3c4d`)
    .action(
      async (
        app: string | undefined,
        id: string | undefined,
        opts: { pipeline?: string; json?: boolean },
      ) => {
        const usage = "gantry notifications:test APP ID | --pipeline NAME ID";
        const { o: who, rest } = owner([app, id], opts.pipeline, 1, usage);
        const hookId = parseWith(HookIdSchema, rest[0]!, "id");
        const r = await client().test(who, hookId);
        if (opts.json === true) return json(o, r);
        if (r.delivered) o.out(`Delivered: the receiver answered ${r.status}`);
        else {
          o.err(`Not delivered: ${r.error ?? "unknown error"}`);
          process.exitCode = 1;
        }
      },
    );
}

const note = (n: DeliveryNote | undefined): string =>
  n === undefined
    ? "-"
    : `${n.at.replace("T", " ").slice(0, 19)} ${n.event}${n.status === undefined ? "" : ` ${n.status}`}`;

/** The `gantry notifications` table. */
export function showHooks(o: Output, list: readonly HookView[], label: string): void {
  const all = NOTIFY_EVENTS.length;
  table(
    o,
    ["ID", "URL", "EVENTS", "LAST DELIVERY", "LAST ERROR"],
    list.map((h) => {
      const failedLast =
        h.lastError !== undefined &&
        (h.lastDelivery === undefined || h.lastError.at > h.lastDelivery.at);
      const err =
        h.lastError === undefined
          ? "-"
          : `${note(h.lastError)}: ${h.lastError.error ?? ""}${h.lastError.gaveUp === true ? " (gave up)" : ""}`;
      return [
        h.id,
        h.url,
        h.events.length === all ? "all" : h.events.join(","),
        note(h.lastDelivery),
        failedLast ? colours(o).red(err) : err,
      ];
    }),
    `(no notifications for ${label}: add one with gantry notifications:add)`,
  );
}
