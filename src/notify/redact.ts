/**
 * A webhook URL as it may be shown: user and password, query values and token-like path
 * segments (Slack's `/services/T…/B…/XXXX`) are replaced, so a listing never gives the URL away.
 */
export function redactUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return "(not a URL)";
  }
  const auth = u.username !== "" || u.password !== "" ? "***@" : "";
  const path = u.pathname
    .split("/")
    .map((seg) => (/^[A-Za-z0-9_-]{16,}$/.test(seg) ? `${seg.slice(0, 4)}…` : seg))
    .join("/");
  const query = [...u.searchParams.keys()].map((k) => `${encodeURIComponent(k)}=***`).join("&");
  return `${u.protocol}//${auth}${u.host}${path}${query === "" ? "" : `?${query}`}`;
}
