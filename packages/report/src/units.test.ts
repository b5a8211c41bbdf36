import { describe, expect, it } from "vitest";
import {
  convert,
  convertible,
  directionOfUnit,
  humanValue,
  parseQuantity,
  parseUnit,
  UnitError,
} from "./units.js";

describe("units", () => {
  it("parse what benchmark tools write", () => {
    expect(parseUnit("ns")).toMatchObject({ dimension: "time", factor: 1e-9 });
    expect(parseUnit("usecond")).toMatchObject({ dimension: "time", factor: 1e-6 }); // Nsight Compute
    expect(parseUnit("µs")).toMatchObject({ dimension: "time", factor: 1e-6 });
    expect(parseUnit("seconds")).toMatchObject({ dimension: "time", factor: 1 });
    expect(parseUnit("Mbyte")).toMatchObject({ dimension: "size", factor: 1e6 });
    expect(parseUnit("GiB")).toMatchObject({ dimension: "size", factor: 1024 ** 3 });
    expect(parseUnit("ns/op")).toMatchObject({ dimension: "time-per", factor: 1e-9, per: "op" });
    expect(parseUnit("B/op")).toMatchObject({ dimension: "size-per", per: "op" });
    expect(parseUnit("allocs/op")).toMatchObject({ dimension: "work-per", noun: "allocation", per: "op" });
    expect(parseUnit("ops/sec")).toMatchObject({ dimension: "rate", factor: 1, noun: "op" });
    expect(parseUnit("ops/ms")).toMatchObject({ dimension: "rate", factor: 1000, noun: "op" });
    expect(parseUnit("GB/s")).toMatchObject({ dimension: "rate", factor: 1e9, noun: "byte" });
    expect(parseUnit("byte/second")).toMatchObject({ dimension: "rate", factor: 1, noun: "byte" });
    expect(parseUnit("TFLOPS")).toMatchObject({ dimension: "rate", factor: 1e12, noun: "FLOP" });
    expect(parseUnit("GFLOP/s")).toMatchObject({ dimension: "rate", factor: 1e9, noun: "FLOP" });
    expect(parseUnit("tokens/s")).toMatchObject({ dimension: "rate", noun: "token" });
    expect(parseUnit("Melem/s")).toMatchObject({ dimension: "rate", factor: 1e6, noun: "element" });
    expect(parseUnit("hz")).toMatchObject({ dimension: "rate", factor: 1, noun: "cycle" });
    expect(parseUnit("%")).toMatchObject({ dimension: "ratio", factor: 0.01 });
    expect(parseUnit("furlongs")).toBeUndefined();
    expect(parseUnit("")).toBeUndefined();
  });

  it("convert within a dimension and refuse across, naming both", () => {
    expect(convert(1, "s", "ns")).toBe(1e9);
    expect(convert(1500, "ns", "µs")).toBeCloseTo(1.5, 12);
    expect(convert(2, "GB/s", "MB/s")).toBeCloseTo(2000, 9);
    expect(convert(3, "ms/step", "s/step")).toBeCloseTo(0.003, 12);
    expect(convert(7, "frobs", "frobs")).toBe(7); // the same text always compares
    expect(() => convert(1, "ns", "ops/s")).toThrow(UnitError);
    expect(() => convert(1, "ns", "ops/s")).toThrow(/"ns" is a time and "ops\/s" is a rate/);
    expect(() => convert(1, "ms/step", "ms/sample")).toThrow(/per step .* per sample/);
    expect(() => convert(1, "tokens/s", "GB/s")).toThrow(/counts token .* counts byte/);
    expect(() => convert(1, "frobs", "ns")).toThrow(/"frobs" is not a unit gpuci knows/);
    expect(convertible("s", "ms")).toBe(true);
    expect(convertible("s", "B")).toBe(false);
  });

  it("say which way is better by grammar, and the rule", () => {
    expect(directionOfUnit("ms/step")).toEqual({
      direction: "smaller",
      rule: "unit ms/step is a time per step: smaller is better",
    });
    expect(directionOfUnit("us/sample")?.direction).toBe("smaller");
    expect(directionOfUnit("s/step")?.direction).toBe("smaller");
    expect(directionOfUnit("ops/s")?.direction).toBe("bigger");
    expect(directionOfUnit("tokens/s")?.direction).toBe("bigger");
    expect(directionOfUnit("B/op")?.direction).toBe("smaller");
    expect(directionOfUnit("ns")?.direction).toBe("smaller");
    expect(directionOfUnit("%")).toBeUndefined(); // accuracy or error rate: the unit cannot say
    expect(directionOfUnit("widgets")).toBeUndefined();
  });

  it("print human units", () => {
    expect(humanValue(3.7e-5, "s")).toBe("37 µs");
    expect(humanValue(123456789, "ns")).toBe("123.5 ms");
    expect(humanValue(1, "ns")).toBe("1 ns");
    expect(humanValue(0.5, "ns")).toBe("500 ps");
    expect(humanValue(2.5e9, "B/s")).toBe("2.5 GB/s");
    expect(humanValue(1234, "ns/op")).toBe("1.234 µs/op");
    expect(humanValue(4500, "s")).toBe("75 min");
    expect(humanValue(0.123, "fraction")).toBe("12.3 %");
    expect(humanValue(42, "widgets")).toBe("42 widgets");
  });

  it("read thresholds written with units", () => {
    expect(parseQuantity("2ms")).toEqual({ value: 2, unit: "ms" });
    expect(parseQuantity("1.5 GB/s")).toEqual({ value: 1.5, unit: "GB/s" });
    expect(parseQuantity("1e-3 s")).toEqual({ value: 1e-3, unit: "s" });
    expect(parseQuantity("5 parsecs")).toBeUndefined();
    expect(parseQuantity("ms")).toBeUndefined();
  });
});
