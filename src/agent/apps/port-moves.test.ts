import { describe, expect, it } from "vitest";
import { BIND_WINDOW_MS, MAX_MOVES_IN_A_ROW, portWasTaken, saysPortInUse } from "./port-moves.js";

describe("a port taken by another program", () => {
  const exit = {
    port: 20013,
    heldByOther: false,
    uptimeMs: 200,
    lastLines: ["Error: listen EADDRINUSE: address already in use :::20013"],
    movesInARow: 0,
  };

  it("is read from the output of Node, Python, Ruby and Go, only about its own port", () => {
    expect(saysPortInUse(exit.lastLines, 20013)).toBe(true);
    expect(
      saysPortInUse(['Address already in use - bind(2) for "0.0.0.0" port 20013'], 20013),
    ).toBe(true);
    expect(saysPortInUse(["listen tcp :20013: bind: address already in use"], 20013)).toBe(true);
    // An app that binds a port of its own choosing, or says nothing about ours.
    expect(saysPortInUse(["listen EADDRINUSE: address already in use :::3000"], 20013)).toBe(false);
    expect(saysPortInUse(["listen EADDRINUSE: address already in use :::200134"], 20013)).toBe(
      false,
    );
    expect(saysPortInUse(["OSError: [Errno 98] Address already in use"], 20013)).toBe(false);
    expect(saysPortInUse(["port 20013 is ready"], 20013)).toBe(false);
  });

  it("is a port another program holds now, or one the output said was in use soon after start", () => {
    expect(portWasTaken(exit)).toBe(true);
    expect(portWasTaken({ ...exit, lastLines: ["boom"] })).toBe(false);
    expect(portWasTaken({ ...exit, lastLines: ["boom"], heldByOther: true })).toBe(true);
    expect(portWasTaken({ ...exit, uptimeMs: BIND_WINDOW_MS })).toBe(false);
    expect(portWasTaken({ ...exit, uptimeMs: BIND_WINDOW_MS, heldByOther: true })).toBe(true);
  });

  it("stops counting as one after moves in a row: then it is a crash, backed off", () => {
    expect(portWasTaken({ ...exit, heldByOther: true, movesInARow: MAX_MOVES_IN_A_ROW - 1 })).toBe(
      true,
    );
    expect(portWasTaken({ ...exit, heldByOther: true, movesInARow: MAX_MOVES_IN_A_ROW })).toBe(
      false,
    );
  });
});
