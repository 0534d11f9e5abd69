import type { Miss } from "./table.js";

/** One of the router's own answers for a request it cannot route: status, message, a fix. */
export interface Answer {
  status: number;
  message: string;
  hint: string;
}

/** 404 for a Host that names no app: how to create the app or add the domain. */
export function missAnswer(miss: Miss, domain: string): Answer {
  if (miss.kind === "no-app")
    return {
      status: 404,
      message: `no app named ${miss.app}`,
      hint: `Create it with: gantry apps:create ${miss.app}`,
    };
  return {
    status: 404,
    message: `no app for host ${miss.host === "" ? "(none)" : miss.host}`,
    hint: `Apps are served at <app>.${domain}; add a custom domain with: gantry domains:add APP ${miss.host || "DOMAIN"}`,
  };
}

/** 503 for an app without a passing instance. */
export function noInstanceAnswer(app: string): Answer {
  return {
    status: 503,
    message: `no passing instance of app ${app}`,
    hint: `See its instances with: gantry ps ${app}`,
  };
}
