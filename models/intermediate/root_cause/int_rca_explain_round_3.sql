-- explain-away round 3: int_rca_explain_round_2's state rescored, its winners accepted and folded in
{{ api_trust.rca_explain_round(3) }}
