// Test runner for the Android shell's plain-Kotlin logic on the desktop JVM (scripts/shells-test).
// Prints one line per failure and a closing `N passed, N failed`; exits 1 on any failure.

import kotlin.system.exitProcess

/** A named test case. */
class Case(val name: String, val body: () -> Unit)

/** Collects cases in declaration order. */
class Suite {
    val cases = ArrayList<Case>()

    fun test(name: String, body: () -> Unit) {
        cases.add(Case(name, body))
    }
}

fun main() {
    val cases = ArrayList<Case>()
    cases += logicTests().cases
    // ShapesTests.kt needs the generated bindings; scripts/shells-test compiles it only when they exist.
    val shapes = try {
        Class.forName("ShapesTestsKt")
    } catch (e: ClassNotFoundException) {
        null
    }
    if (shapes != null) {
        @Suppress("UNCHECKED_CAST")
        cases += (shapes.getMethod("shapesTests").invoke(null) as Suite).cases
    } else {
        println("note: generated bindings absent; the uniffi shape tests were not compiled")
    }
    var passed = 0
    var failed = 0
    for (c in cases) {
        try {
            c.body()
            passed++
        } catch (e: Throwable) {
            failed++
            println("FAIL ${c.name}: ${e.javaClass.simpleName}: ${e.message}")
        }
    }
    println("kotlin shell logic: $passed passed, $failed failed")
    if (failed > 0) exitProcess(1)
}
