#!/usr/bin/env python3
"""Parity of the CapacitorUpdater method and event names across the layers (acceptance 4 and 5 of issue 4).

Reads, with the standard library only:
  - the method tables of the plain logic (Kotlin PluginMethods.kt, Swift PluginMethods.swift),
  - the Android shell's @PluginMethod functions and the iOS shell's pluginMethods list and @objc functions,
  - src/methods.ts (SUPPORTED_METHODS / UNIMPLEMENTED_METHODS) and src/definitions.ts, when present.
Checks that every layer names the same supported and unimplemented methods, that unimplemented ones reject
with Capacitor's UNIMPLEMENTED error, that each supported method hops to the executor/queue its table says
(never running on Capacitor's shared thread), and that the event names agree. Prints one line per check and a
closing `N passed, N failed`; exits 1 on any failure.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
KT_LOGIC = ROOT / "android/src/main/java/app/airlock/capacitor/logic"
KT_SHELL = ROOT / "android/src/main/java/app/airlock/capacitor/CapacitorUpdaterPlugin.kt"
SW_LOGIC = ROOT / "ios/Sources/AirlockCapacitorUpdater/Logic"
SW_SHELL = ROOT / "ios/Sources/AirlockCapacitorUpdater/CapacitorUpdaterPlugin.swift"
DEFINITIONS = ROOT / "src/definitions.ts"
METHODS_TS = ROOT / "src/methods.ts"

results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(("ok   " if ok else "FAIL ") + name + ("" if ok or not detail else ": " + detail))


def diff(a, b):
    a, b = set(a), set(b)
    parts = []
    if a - b:
        parts.append("only in the first: " + ", ".join(sorted(a - b)))
    if b - a:
        parts.append("only in the second: " + ", ".join(sorted(b - a)))
    return "; ".join(parts)


def same(name, a, b):
    check(name, set(a) == set(b), diff(a, b))


def block(text, start_pattern):
    """The text from start_pattern to its matching closing bracket."""
    m = re.search(start_pattern, text)
    if not m:
        return ""
    i = m.end() - 1
    opening = text[i]
    closing = {"(": ")", "[": "]", "{": "}"}[opening]
    depth = 0
    for j in range(i, len(text)):
        if text[j] == opening:
            depth += 1
        elif text[j] == closing:
            depth -= 1
            if depth == 0:
                return text[i : j + 1]
    return text[i:]


# --- the plain-logic tables --------------------------------------------------------------------------------------
kt_methods = (KT_LOGIC / "PluginMethods.kt").read_text()
kt_supported = dict(re.findall(r'"(\w+)" to Worker\.(STATE|NETWORK)', block(kt_methods, r"val SUPPORTED[^=]*= linkedMapOf\(")))
kt_unimpl = re.findall(r'"(\w+)"', block(kt_methods, r"val UNIMPLEMENTED[^=]*= listOf\("))
sw_methods = (SW_LOGIC / "PluginMethods.swift").read_text()
sw_supported = {n: w.upper() for n, w in re.findall(r'\("(\w+)", \.(state|network)\)', block(sw_methods, r"static let supported[^=]*= \["))}
sw_unimpl = re.findall(r'"(\w+)"', block(sw_methods, r"static let unimplemented[^=]*= \["))

check("the Kotlin table lists supported methods", len(kt_supported) > 0)
check("the Kotlin table keeps supported and unimplemented apart", not set(kt_supported) & set(kt_unimpl),
      diff(kt_supported, set(kt_supported) - set(kt_unimpl)))
same("Kotlin and Swift tables: supported methods", kt_supported, sw_supported)
same("Kotlin and Swift tables: unimplemented methods", kt_unimpl, sw_unimpl)
check("Kotlin and Swift tables: each method runs on the same kind of executor",
      all(sw_supported.get(n) == w for n, w in kt_supported.items()),
      ", ".join(n for n, w in kt_supported.items() if sw_supported.get(n) != w))

# --- the Android shell -------------------------------------------------------------------------------------------
kt_shell = KT_SHELL.read_text()
kt_funcs = {}
for m in re.finditer(r"@PluginMethod\s+fun (\w+)\(call: PluginCall\)\s*=\s*(\w+)\(", kt_shell):
    kt_funcs[m.group(1)] = m.group(2)
same("Android @PluginMethod functions = supported + unimplemented", kt_funcs, list(kt_supported) + kt_unimpl)
check("Android: every unimplemented method rejects with call.unimplemented()",
      all(kt_funcs.get(n) == "rejectUnimplemented" for n in kt_unimpl)
      and "call.unimplemented(" in kt_shell,
      ", ".join(n for n in kt_unimpl if kt_funcs.get(n) != "rejectUnimplemented"))
helper = {"STATE": "onState", "NETWORK": "onNetwork"}
wrong = [n for n, w in kt_supported.items() if kt_funcs.get(n) != helper[w]]
check("Android: every supported method hops to the executor of its table entry", not wrong, ", ".join(wrong))

# --- the iOS shell -----------------------------------------------------------------------------------------------
sw_shell = SW_SHELL.read_text()
sw_listed = re.findall(r'CAPPluginMethod\(name: "(\w+)"', block(sw_shell, r"let pluginMethods: \[CAPPluginMethod\] = \["))
check("iOS pluginMethods lists each method once", len(sw_listed) == len(set(sw_listed)))
same("iOS pluginMethods = supported + unimplemented", sw_listed, list(kt_supported) + kt_unimpl)
sw_funcs = {}
for m in re.finditer(r"@objc func (\w+)\(_ call: CAPPluginCall\)\s*\{\s*(\w+)\(", sw_shell):
    sw_funcs[m.group(1)] = m.group(2)
same("iOS @objc functions = pluginMethods", sw_funcs, sw_listed)
check("iOS: every unimplemented method rejects with call.unimplemented()",
      all(sw_funcs.get(n) == "rejectUnimplemented" for n in kt_unimpl) and "call.unimplemented(" in sw_shell,
      ", ".join(n for n in kt_unimpl if sw_funcs.get(n) != "rejectUnimplemented"))
wrong = [n for n, w in kt_supported.items() if sw_funcs.get(n) != helper[w]]
check("iOS: every supported method hops to the queue of its table entry", not wrong, ", ".join(wrong))

# --- events ------------------------------------------------------------------------------------------------------
kt_events = re.findall(r'"(\w+)"', block((KT_LOGIC / "Emit.kt").read_text(), r"val NAMES = listOf\("))
sw_events = re.findall(r'"(\w+)"', block((SW_LOGIC / "Emit.swift").read_text(), r"static let names = \["))
same("Kotlin and Swift emit the same event names", kt_events, sw_events)

# --- the npm package (when present in this tree) -----------------------------------------------------------------
unimplemented_events = []
if METHODS_TS.exists():
    ts = METHODS_TS.read_text()

    def ts_list(name):
        return re.findall(r"['\"](\w+)['\"]", block(ts, r"export const " + name + r"\b[^=]*=\s*\["))

    same("src/methods.ts SUPPORTED_METHODS = the shells' supported methods", ts_list("SUPPORTED_METHODS"), kt_supported)
    same("src/methods.ts UNIMPLEMENTED_METHODS = the shells' unimplemented methods",
         ts_list("UNIMPLEMENTED_METHODS"), kt_unimpl)
    same("src/methods.ts SUPPORTED_EVENTS = the shells' events", ts_list("SUPPORTED_EVENTS"), kt_events)
    unimplemented_events = ts_list("UNIMPLEMENTED_EVENTS")
else:
    print("note: src/methods.ts absent in this tree; its lists were not compared")

if DEFINITIONS.exists():
    ts = DEFINITIONS.read_text()
    body = block(ts, r"export interface CapacitorUpdaterPlugin[^{]*\{")
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    body = re.sub(r"//[^\n]*", "", body)
    declared = set(re.findall(r"^\s*(\w+)\s*(?:<[^>]*>)?\s*\(", body, flags=re.M)) - {"addListener", "removeAllListeners"}
    same("src/definitions.ts methods = supported + unimplemented", declared, list(kt_supported) + kt_unimpl)
    ts_events = set(re.findall(r"addListener\(\s*eventName:\s*['\"](\w+)['\"]", body))
    same("src/definitions.ts events = the shells' events + UNIMPLEMENTED_EVENTS", ts_events,
         kt_events + unimplemented_events)
else:
    print("note: src/definitions.ts absent in this tree; its names were not compared")

passed = sum(1 for r in results if r)
failed = len(results) - passed
print(f"parity: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
