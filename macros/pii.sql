{#
    Personal data: the one rule set. The loader (scripts/api_trust/pii.py)
    renders these same macros with plain Jinja to mask every text column at
    landing, the models use them as a second line, and the `no_pii_in_text`
    test detects with the same rules, so what is masked and what is checked
    cannot drift apart. Keep them plain Jinja: no adapter, var or ref here
    except in the dispatching wrappers.

    Rules, matched case-insensitively on normalised text:
    - PAN: five letters, four digits, a letter (`ABCDE1234F`), anywhere in a
      word (`xABCDE1234F_suffix` too).
    - Aadhaar: twelve digits, in groups of four separated by up to three of
      space, `-` or `.`, with no digit right before or after (a 13-digit
      epoch in milliseconds is not an Aadhaar; `123456789012x` is).
    - Indian mobile numbers (optional +91, ten digits from 6-9) and
      international numbers written with `+`.
    - Email addresses, IPv4 and IPv6 addresses.
    Not personal data: a machine-made identifier, whole as a word (no letter or
    digit right before or after): a UUID (`8-4-4-4-12` hex digits) or a run of
    16 or more hex digits (W3C trace and span ids, digests). About 1 random
    UUID in 50 and 1 trace id in 29 hold a run of digits between their letters
    that the Aadhaar or phone rules read (a UUID's last group of twelve
    decimal digits, 1 in 280, is one such): such ids were hashed at landing
    (lost to a join with the client's own systems) and counted as personal
    data. A number hidden in such an id
    on purpose is not found, as one hex-encoded is not. Text that holds
    personal data besides such an id is masked by the rules alone, the id's
    digit runs too: masking errs towards masking.
    Normalisation first: Unicode digits of Indian scripts, Arabic-Indic and
    full-width forms become ASCII digits; full-width letters ASCII letters;
    no-break and other spaces a space; Unicode dashes `-`; zero-width
    characters are removed; URL percent-encodings of `@`, space, `+` and `:`
    are decoded (a query string's `email=a%40b.in`).
#}

{# One rule a line: token, `bounded` (the pattern carries a leading and a trailing boundary
   group, re-emitted around the token) or `plain`, then the pattern. #}
{% macro pii_rules() -%}
[EMAIL] plain [a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}
[PAN] plain [a-z]{5}[0-9]{4}[a-z]
[AADHAAR] bounded (^|[^0-9])[0-9]{4}[ \t.-]{0,3}[0-9]{4}[ \t.-]{0,3}[0-9]{4}([^0-9]|$)
[IP] bounded (^|[^0-9a-f:])(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}([^0-9a-f:]|$)
[IP] bounded (^|[^0-9a-f:])(?:[0-9a-f]{1,4}:){1,6}(?::[0-9a-f]{1,4}){1,6}([^0-9a-f:]|$)
[IP] bounded (^|[^0-9.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}([^0-9]|$)
[PHONE] bounded (^|[^0-9+])(?:\+?91[ \t.-]{0,2})?[6-9][0-9]{4}[ \t.-]{0,2}[0-9]{5}([^0-9]|$)
[PHONE] bounded (^|[^0-9])\+[1-9][0-9]{0,2}[ .()-]{0,3}[0-9][0-9 .()-]{5,16}[0-9]([^0-9]|$)
{%- endmacro %}

{# The machine-made identifiers that are not personal data (header comment), with the
   boundary groups of a `bounded` rule; has_pii blanks them before its second look. #}
{% macro pii_machine_ids() -%}
(^|[^0-9a-z])(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,})([^0-9a-z]|$)
{%- endmacro %}

{# Two lines, the characters normalised before matching and what they become; characters of
   the first line past the end of the second are deleted. #}
{% macro pii_translation() -%}
٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹०१२३४५६७८९০১২৩৪৫৬৭৮৯੦੧੨੩੪੫੬੭੮੯૦૧૨૩૪૫૬૭૮૯୦୧୨୩୪୫୬୭୮୯௦௧௨௩௪௫௬௭௮௯౦౧౨౩౪౫౬౭౮౯೦೧೨೩೪೫೬೭೮೯൦൧൨൩൪൫൬൭൮൯０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ               　‐‑‒–—―−－．＠＋​‌‍⁠﻿­
012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz                --------.@+
{%- endmacro %}

{% macro pii_normalise(expr) -%}
    {{ return(adapter.dispatch('pii_normalise', 'api_trust')(expr)) }}
{%- endmacro %}

{% macro default__pii_normalise(expr) -%}
    {{- pii_normalised(expr, 'strlen', default__pii_percent_decoded(expr)) -}}
{%- endmacro %}

{% macro spark__pii_normalise(expr) -%}
    {{- pii_normalised(expr, 'octet_length', spark__pii_percent_decoded(expr)) -}}
{%- endmacro %}

{# pii_normalise on either engine: `byte_length` names its function for a text's bytes. #}
{% macro pii_normalised(expr, byte_length, decoded) -%}
    {%- set tr = pii_translation().split('\n') -%}
    {#- translate is slow (about 10 us a value): plain ASCII, nearly all text, skips it. A
        value is plain ASCII when its bytes and its characters are as many: 25x cheaper
        than a regular expression for a non-ASCII character (0.01 s against 0.26 s for 1M
        values of 100 characters). -#}
    {#- A URL writes the characters the rules match as %XX (`jane%40example.com`, an Aadhaar's
        spaces as %20): only a value with a `%` is decoded (instr, about as cheap as the
        length check). -#}
    case
        when {{ byte_length }}({{ expr }}) <> length({{ expr }})
            then translate({{ decoded }}, '{{ tr[0] }}', '{{ tr[1] }}')
        when instr({{ expr }}, '%') > 0 then {{ decoded }}
        else {{ expr }}
    end
{%- endmacro %}

{# The percent-encodings of the reserved characters the rules match, decoded (either hex
   case); `.`, `-` and `_` are unreserved in a URL, which encoders leave as they are. The
   text is split at each `%`: every part after the first starts with its code (DuckDB's
   form takes the first part apart: sqlfluff does not parse a two-argument lambda). One level of
   nesting whatever the codes (a replace() per code nested the landing's SQL past
   sqlfluff's parse depth). #}
{% macro default__pii_percent_decoded(expr) -%}
    string_split({{ expr }}, '%')[1] || array_to_string(list_transform(string_split({{ expr }}, '%')[2:],
        lambda pii_part: {{ pii_percent_part('pii_part') }}), '')
{%- endmacro %}

{% macro spark__pii_percent_decoded(expr) -%}
    array_join(transform(split({{ expr }}, '%', -1),
        (pii_part, pii_i) -> case when pii_i = 0 then pii_part else {{ pii_percent_part('pii_part') }} end), '')
{%- endmacro %}

{# A part of a text split at `%` that followed a `%`: its code decoded, or its `%` given back.
   A code encoded twice is decoded too: CloudFront writes a query's `%` as `%25`, so a
   client's `%40` is logged as `%2540`. #}
{% macro pii_percent_part(part) -%}
    case
    {%- for code, char in [('40', '@'), ('20', ' '), ('2B', '+'), ('3A', ':')] %}
        when upper(left({{ part }}, 2)) = '{{ code }}' then '{{ char }}' || substr({{ part }}, 3)
        when upper(left({{ part }}, 4)) = '25{{ code }}' then '{{ char }}' || substr({{ part }}, 5)
    {%- endfor %}
        else '%' || {{ part }} end
{%- endmacro %}

{# Text as the body of a Spark string literal: a backslash is an escape there, so it is
   doubled, and a quote is escaped. Patterns are written once in RE2 form and pass here. #}
{% macro spark_literal_body(text) -%}
    {{- text.replace('\\', '\\\\').replace("'", "\\'") -}}
{%- endmacro %}

{# Free text that holds personal data (has_pii) with every match replaced by its token
   ([PAN], [AADHAAR], [EMAIL], [PHONE], [IP]); any other text exactly as it is. #}
{% macro mask_pii(expr) -%}
    {{ return(adapter.dispatch('mask_pii', 'api_trust')(expr)) }}
{%- endmacro %}

{% macro default__mask_pii(expr) -%}
    case
        when {{ default__has_pii(expr) }}
            then {{ pii_replaced(default__pii_normalise(expr), false, '\\', ", 'g'") }}
        else {{ expr }}
    end
{%- endmacro %}

{% macro spark__mask_pii(expr) -%}
    {#- Spark's regexp_replace replaces every match; groups are $1 in the replacement -#}
    case
        when {{ spark__has_pii(expr) }}
            then {{ pii_replaced(spark__pii_normalise(expr), true, '$', '') }}
        else {{ expr }}
    end
{%- endmacro %}

{# mask_pii on either engine, over `normalised` text: `escape` passes each pattern through
   spark_literal_body, `group` is how a replacement names a group (\1 or $1), `flags` the
   trailing arguments that make a replacement replace every match. #}
{% macro pii_replaced(normalised, escape, group, flags) -%}
    {%- set ns = namespace(sql=normalised) -%}
    {%- for line in pii_rules().split('\n') -%}
        {%- set rule = line.split(' ', 2) -%}
        {%- if rule[1] == 'bounded' -%}
            {%- set ns.sql = pii_bounded_replaced(ns.sql, rule[2], rule[0], escape, group, flags) -%}
        {%- else -%}
            {%- set pattern = "'(?i)" ~ (spark_literal_body(rule[2]) if escape else rule[2]) ~ "'" -%}
            {%- set ns.sql = "regexp_replace(" ~ ns.sql ~ ", " ~ pattern ~ ", '" ~ rule[0] ~ "'" ~ flags ~ ")" -%}
        {%- endif -%}
    {%- endfor -%}
    {{ ns.sql }}
{%- endmacro %}

{# `text` with every match of a bounded `pattern` (a leading boundary group, what it finds,
   a trailing boundary group) replaced by `token` between its boundaries; twice, as a match
   consumes the boundary its neighbour needs ("a,b" replaces a, then b). #}
{% macro pii_bounded_replaced(text, pattern, token, escape, group, flags) -%}
    {%- set quoted = "'(?i)" ~ (spark_literal_body(pattern) if escape else pattern) ~ "'" -%}
    {%- set ns = namespace(sql=text) -%}
    {%- for _ in range(2) -%}
        {%- set ns.sql = "regexp_replace(" ~ ns.sql ~ ", " ~ quoted ~ ", '" ~ group ~ "1" ~ token ~ group ~ "2'" ~ flags ~ ")" -%}
    {%- endfor -%}
    {{- ns.sql -}}
{%- endmacro %}

{# Every rule's pattern in one alternation (what has_pii looks for). #}
{% macro pii_pattern() -%}
    {%- set patterns = [] -%}
    {%- for line in pii_rules().split('\n') -%}{%- do patterns.append(line.split(' ', 2)[2]) -%}{%- endfor -%}
    {{- patterns | join('|') -}}
{%- endmacro %}

{# True when the text holds personal data: a rule matches it, and still matches once its
   machine-made identifiers are blanked (header comment); false for null. The second look
   runs only on text the first found something in, a small share of any log. #}
{% macro has_pii(expr) -%}
    {{ return(adapter.dispatch('has_pii', 'api_trust')(expr)) }}
{%- endmacro %}

{% macro default__has_pii(expr) -%}
    {%- set normalised = default__pii_normalise(expr) -%}
    {%- set pattern = "'(?i)" ~ pii_pattern() ~ "'" -%}
    {#- a case, not `and`: DuckDB computes both sides of an `and` outside a filter (has_pii
        took 4x as long so) and a case's branch only for the rows that reach it -#}
    case
        when regexp_matches({{ normalised }}, {{ pattern }})
            then regexp_matches({{ pii_bounded_replaced(normalised, pii_machine_ids(), 'id', false, '\\', ", 'g'") }}, {{ pattern }})
        else false
    end
{%- endmacro %}

{% macro spark__has_pii(expr) -%}
    {%- set normalised = spark__pii_normalise(expr) -%}
    {%- set pattern = "'(?i)" ~ spark_literal_body(pii_pattern()) ~ "'" -%}
    case
        when {{ normalised }} rlike {{ pattern }}
            then {{ pii_bounded_replaced(normalised, pii_machine_ids(), 'id', true, '$', '') }} rlike {{ pattern }}
        else false
    end
{%- endmacro %}

{# True when masked text carries a mask token (the record held personal data at landing). #}
{% macro has_pii_token(expr) -%}
    {{ return(adapter.dispatch('has_pii_token', 'api_trust')(expr)) }}
{%- endmacro %}

{% macro default__has_pii_token(expr) -%}
    regexp_matches({{ expr }}, '\[(PAN|AADHAAR|EMAIL|PHONE|IP)\]|^pii_[a-p]{32}$')
{%- endmacro %}

{% macro spark__has_pii_token(expr) -%}
    ({{ expr }} rlike '\\[(PAN|AADHAAR|EMAIL|PHONE|IP)\\]|^pii_[a-p]{32}$')
{%- endmacro %}

{#
    An identifier that holds personal data becomes `pii_` and a keyed hash
    written in the letters a-p (so the hash itself never looks like a number):
    equal ids stay equal, distinct ids stay distinct, the value is gone.
#}
{% macro mask_pii_id(expr, key_literal) -%}
    {{ return(adapter.dispatch('mask_pii_id', 'api_trust')(expr, key_literal)) }}
{%- endmacro %}

{% macro default__mask_pii_id(expr, key_literal) -%}
    case
        when {{ default__has_pii(expr) }}
            then 'pii_' || translate(md5({{ key_literal }} || {{ default__pii_normalise(expr) }}), '0123456789', 'ghijklmnop')
        else {{ expr }}
    end
{%- endmacro %}
