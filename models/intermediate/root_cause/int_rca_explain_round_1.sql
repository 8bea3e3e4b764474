-- explain-away round 1: int_rca_explain_round_0's state rescored, its winners accepted and folded in
{{ api_trust.rca_explain_round(1) }}
