import { describe, expect, it } from "vitest";
import { onDesktop } from "./ui.js";

describe("gantry ui opens the link by itself only on a desktop", () => {
  it("opens with a display and a terminal", () => {
    expect(onDesktop({ DISPLAY: ":0" }, "linux", true)).toBe(true);
    expect(onDesktop({ WAYLAND_DISPLAY: "wayland-0" }, "linux", true)).toBe(true);
    expect(onDesktop({}, "darwin", true)).toBe(true);
  });
  it("only prints without a display, without a terminal, in CI or over SSH on a Mac", () => {
    expect(onDesktop({}, "linux", true)).toBe(false);
    expect(onDesktop({ DISPLAY: ":0" }, "linux", false)).toBe(false);
    expect(onDesktop({ DISPLAY: ":0", CI: "true" }, "linux", true)).toBe(false);
    expect(onDesktop({ SSH_CONNECTION: "10.0.0.1 22 10.0.0.2 22" }, "darwin", true)).toBe(false);
  });
});
