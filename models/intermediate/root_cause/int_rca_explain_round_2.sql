-- explain-away round 2: int_rca_explain_round_1's state rescored, its winners accepted and folded in
{{ api_trust.rca_explain_round(2) }}
