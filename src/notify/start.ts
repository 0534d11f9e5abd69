import type { SecretBox } from "../apps/secrets.js";
import type { Store } from "../store/index.js";
import { OutboxWriter } from "./notifier.js";
import { Sender } from "./sender.js";

export interface NotificationsOptions {
  store: Store;
  box: SecretBox;
  appUrl?: (app: string) => string | undefined;
  log: (line: string) => void;
}

/** The leader's notifications: the notifier filling the outbox, the sender emptying it. */
export function startNotifications(opts: NotificationsOptions): { stop(): Promise<void> } {
  const writer = new OutboxWriter({
    store: opts.store,
    log: opts.log,
    ...(opts.appUrl ? { appUrl: opts.appUrl } : {}),
  });
  const sender = new Sender({ store: opts.store, box: opts.box, log: opts.log });
  writer.start();
  sender.start();
  return { stop: async () => void (await Promise.all([writer.stop(), sender.stop()])) };
}
