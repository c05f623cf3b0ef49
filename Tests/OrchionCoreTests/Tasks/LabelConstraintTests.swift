import OrchionCore
import Testing

@Suite("LabelConstraint parsing and matching")
struct LabelConstraintTests {
  @Test(
    "expressions parse to their kind and print canonically",
    arguments: [
      ("gpu=a100", "gpu=a100"), ("gpu == a100", "gpu=a100"), ("zone!=eu", "zone!=eu"),
      ("os in (linux, darwin)", "os in (darwin,linux)"), ("tier notin (spot)", "tier notin (spot)"),
      ("ssd", "ssd"), ("!spot", "!spot"), ("  orchion.io/os = linux ", "orchion.io/os=linux"),
    ]
  )
  func parses(text: String, canonical: String) throws {
    let constraint = try LabelConstraint(parsing: text, field: "c")
    #expect(constraint.description == canonical)
    // The canonical form parses back to the same rule.
    #expect(try LabelConstraint(parsing: canonical, field: "c") == constraint)
  }

  @Test(
    "malformed expressions are refused with the rule they break",
    arguments: [
      ("", "empty expression"), ("os in linux", "parentheses"), ("os in ()", "empty value"),
      ("os in (a,,b)", "empty value"), ("bad key=1", "label keys"), ("os within (a)", "expected"),
      ("=v", "label keys"), ("k=a(b", "values are"),
    ]
  )
  func refuses(text: String, rule: String) {
    #expect {
      try LabelConstraint(parsing: text, field: "spec.constraints[0]")
    } throws: { error in
      guard let error = error as? OrchionError else { return false }
      return error.code == .invalidArgument && error.message.contains("spec.constraints[0]")
        && error.message.contains(rule)
    }
  }

  @Test("!= and notin match nodes without the label, as in Kubernetes")
  func negativesMatchAbsent() throws {
    #expect(try LabelConstraint(parsing: "gpu!=t4", field: "c").matches([:]))
    #expect(try LabelConstraint(parsing: "gpu notin (t4)", field: "c").matches([:]))
    #expect(try !LabelConstraint(parsing: "gpu in (t4)", field: "c").matches([:]))
    #expect(try !LabelConstraint(parsing: "gpu!=t4", field: "c").matches(["gpu": "t4"]))
  }
}

@Suite("RetryPolicy")
struct RetryPolicyTests {
  @Test("delays double from the backoff and stop at the cap")
  func delays() {
    let policy = RetryPolicy(backoff: .seconds(1), maxBackoff: .seconds(10))
    #expect(
      (1...6).map { policy.delay(beforeRetry: $0) } == [1, 2, 4, 8, 10, 10].map(Duration.seconds)
    )
    // Far out it does not overflow.
    #expect(policy.delay(beforeRetry: 100) == .seconds(10))
  }

  @Test("by default every failure retries; with codes only those do")
  func exitCodes() {
    #expect(RetryPolicy().retries(exitCode: 1))
    #expect(RetryPolicy().retries(exitCode: nil))
    let listed = RetryPolicy(exitCodes: [75])
    #expect(listed.retries(exitCode: 75))
    #expect(!listed.retries(exitCode: 1))
    #expect(!listed.retries(exitCode: nil))
  }
}
