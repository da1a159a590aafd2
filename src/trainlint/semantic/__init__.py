"""The semantic model: facts about a training script, computed once per file for all rules."""
