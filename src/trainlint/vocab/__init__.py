"""Plain data shared by the gate and the semantic model: library names, words, patterns. No libcst."""
