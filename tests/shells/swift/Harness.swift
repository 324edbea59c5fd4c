// Test runner for the iOS shell's plain-Swift logic, compiled in one module with it (scripts/shells-test).
// Prints one line per failure and a closing `N passed, N failed`; exits 1 on any failure.
import Foundation

/// A failed expectation.
struct Expectation: Error, CustomStringConvertible {
    let description: String
}

/// Collects named cases in declaration order.
final class Suite {
    var cases: [(name: String, body: () throws -> Void)] = []

    func test(_ name: String, _ body: @escaping () throws -> Void) {
        cases.append((name, body))
    }
}

func expectEqual<T: Equatable>(_ a: T, _ b: T, _ note: String = "", line: Int = #line) throws {
    if a != b { throw Expectation(description: "line \(line): \(a) != \(b) \(note)") }
}

func expect(_ ok: Bool, _ note: String = "", line: Int = #line) throws {
    if !ok { throw Expectation(description: "line \(line): expectation failed \(note)") }
}

/// Runs `body`, which must throw an error of type `E`; returns it.
@discardableResult
func expectThrows<E: Error>(_ type: E.Type, line: Int = #line, _ body: () throws -> Void) throws -> E {
    do {
        try body()
    } catch let e as E {
        return e
    } catch {
        throw Expectation(description: "line \(line): threw \(error), not \(E.self)")
    }
    throw Expectation(description: "line \(line): did not throw")
}

@main
@MainActor
struct Main {
    static func main() {
        let suite = Suite()
        logicTests(suite)
        #if AIRLOCK_BINDINGS
        shapesTests(suite)
        #else
        print("note: generated bindings absent; the uniffi shape tests were not compiled")
        #endif
        var passed = 0
        var failed = 0
        for c in suite.cases {
            do {
                try c.body()
                passed += 1
            } catch {
                failed += 1
                print("FAIL \(c.name): \(error)")
            }
        }
        print("swift shell logic: \(passed) passed, \(failed) failed")
        if failed > 0 { exit(1) }
    }
}
