-- explain-away round 4: int_rca_explain_round_3's state rescored, its winners accepted and folded in
{{ api_trust.rca_explain_round(4) }}
