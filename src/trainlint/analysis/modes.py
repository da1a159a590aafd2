"""Model mode analysis (train / eval / unknown); see ModeAnalysis."""


class ModeAnalysis:  # placeholder until the flow analysis lands
    def __init__(self, ctx) -> None:
        self.ctx = ctx
