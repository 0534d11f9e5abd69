import { describe, expect, it } from "vitest";
import { checkBranch, checkRemoteUrl, displayUrl, normalizeSubPath } from "./remote.js";

describe("followed repository settings", () => {
  it("takes the URLs git fetches over https, ssh, git and files, and nothing that runs commands", () => {
    for (const ok of [
      "https://github.com/acme/platform.git",
      "http://127.0.0.1:3000/acme/ops.git",
      "ssh://git@git.acme.dev:2222/ops.git",
      "git@github.com:acme/ops.git",
      "file:///srv/git/ops.git",
      "/srv/git/ops.git",
    ])
      expect(() => checkRemoteUrl(ok), ok).not.toThrow();
    for (const bad of ["ext::sh -c id", "fd::3", "relative/path", "-uhttps://x", "https://a b"])
      expect(() => checkRemoteUrl(bad), bad).toThrow(/not a git URL/);
  });

  it("refuses branch names git would", () => {
    for (const ok of ["main", "release/2.x", "feature-1"])
      expect(() => checkBranch(ok)).not.toThrow();
    for (const bad of ["a..b", "-x", "x.lock", "a//b", "/a", "a b", "a/"])
      expect(() => checkBranch(bad), bad).toThrow(/not a branch name/);
  });

  it("keeps the folder inside the repository", () => {
    expect(normalizeSubPath("")).toBe("");
    expect(normalizeSubPath("./")).toBe("");
    expect(normalizeSubPath("./stack/prod/")).toBe("stack/prod");
    for (const bad of ["../x", "a/../../b", "a//b"])
      expect(() => normalizeSubPath(bad), bad).toThrow(/inside the repository/);
  });

  it("never shows a URL's password", () => {
    expect(displayUrl("https://bot:s3cret@github.com/acme/ops.git")).toBe(
      "https://github.com/acme/ops.git",
    );
    expect(displayUrl("git@github.com:acme/ops.git")).toBe("git@github.com:acme/ops.git");
  });
});
