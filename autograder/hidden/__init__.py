"""Hidden test cases, one module per assignment. Instructor only: never released, never run
inside a student's process by the hardened grader (which only sends their inputs)."""
