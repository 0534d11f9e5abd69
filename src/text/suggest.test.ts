import { describe, expect, it } from "vitest";
import { closest, didYouMean } from "./suggest.js";

describe("closest", () => {
  it("finds typos: swapped, missing, extra and wrong letters", () => {
    const types = ["directory", "file", "template", "exec", "user", "group"];
    expect(closest("directroy", types)).toBe("directory");
    expect(closest("fiel", types)).toBe("file");
    expect(closest("templates", types)).toBe("template");
    expect(closest("exce", types)).toBe("exec");
    expect(closest("relaod-web", ["reload-web", "restart-db"])).toBe("reload-web");
  });

  it("suggests nothing for names that are not close, or for the name itself", () => {
    expect(closest("package", ["file", "user", "group"])).toBeUndefined();
    expect(closest("ab", ["xy"])).toBeUndefined();
    expect(closest("mode", ["mode"])).toBeUndefined();
  });

  it("words the hint", () => {
    expect(didYouMean("mdoe", ["source", "mode", "owner"])).toBe(' — did you mean "mode"?');
    expect(didYouMean("zzz", ["source"])).toBe("");
  });
});
