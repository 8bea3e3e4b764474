"""Bring your own logs: every known shape loads, builds and means what its protocol says.

Hand-made files for each shape in log_shapes/ (nginx with timings, Apache %D, Envoy and Istio, AWS API
Gateway and ALB, Kong, HAProxy, Traefik, Cloud Logging, API Management, Caddy, flat OTel
spans, OTLP/JSON with a CLIENT span, Parquet, TSV) and the
real Apache access log from ../shared/data/real are loaded into one warehouse beside
generated calls and built once; the tests read what landed and what the marts say.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import shutil
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from api_trust import readers
from api_trust.contract import project_vars
from api_trust.warehouse import WarehouseError
from conftest import Warehouse, ahead, built, dbt, generate, run

# ../shared beside the project (as CI lays it out); API_TRUST_SHARED_DIR points elsewhere
SHARED = Path(
    os.environ.get("API_TRUST_SHARED_DIR", Path(__file__).resolve().parents[3] / "shared")
)
REAL_LOG = SHARED / "data/real/apache_combined_semicomplete_2015.log"

NGINX = (
    '10.1.2.3 - - [01/Nov/2026:15:30:00 +0530] "POST /v1/pan/verify HTTP/1.1" 200 512 "-" '
    '"okhttp/4.9.0" 0.123 0.120\n'
    '10.1.2.4 - - [01/Nov/2026:15:30:01 +0530] "POST /v1/pan/ABCDE1234F/status HTTP/1.1" 504 0 '
    '"-" "Mozilla/5.0 (iPhone)" 30.001 -\n'
    "\n"
    '10.1.2.5 - - [01/Nov/2026:15:30:02 +0530] "GET /health HTTP/1.1" 200 2 "-" '
    '"kube-probe/1.27" 0.001 0.050, 0.100\n'
    "garbage line here\n"
)
APACHE_D = (
    '192.0.2.1 - alice [01/Nov/2026:10:00:00 +0000] "GET /v2/ifsc/HDFC0001234 HTTP/1.1" 200 90 '
    '"-" "Mozilla/5.0" 2500\n'
    '192.0.2.2 - - [01/Nov/2026:10:00:01 +0000] "HEAD /v2/ifsc/HDFC0001234 HTTP/1.1" 200 0 '
    '"-" "Mozilla/5.0" 900\n'
)


# Envoy's default format, Istio's (three fields more after the flags, six at the end), an
# upstream reset with no upstream time (`-`) and no request id, and a line of neither form
ENVOY = (
    '[2026-11-01T10:00:00.125Z] "POST /v1/pan/verify HTTP/1.1" 200 - 0 512 85 80 "203.0.113.9" '
    '"okhttp/4.12.0" "6f7e1c2a-1b2c-4d5e-8f90-a1b2c3d4e5f6" "kyc.example.com" "10.1.2.3:8080"\n'
    '[2026-11-01T10:00:01.000Z] "POST /v1/face/match HTTP/2" 200 - via_upstream - "-" 1024 90 '
    '412 410 "198.51.100.7,10.0.0.1" "Mozilla/5.0 (iPhone)" "0a1b2c3d-0000-4000-8000-000000000001" '
    '"kyc.example.com" "10.1.2.4:8080" outbound|8080||face.kyc.svc.cluster.local 10.1.0.5:40000 '
    "10.1.0.9:8080 198.51.100.7:51234 - face-route\n"
    '[2026-11-01T10:00:02.000Z] "GET /v2/ifsc/HDFC0001234 HTTP/1.1" 503 UF 0 91 30001 - "-" '
    '"curl/8.4.0" "-" "kyc.example.com" "10.1.2.5:8080"\n'
    "[not a time] GET /v1/pan/verify\n"
)


def _json_lines(*objects: dict) -> str:
    return "".join(json.dumps(o) + "\n" for o in objects)


APIGW = _json_lines(
    {"requestId": "gw-1", "requestTime": "01/Nov/2026:10:00:00 +0000", "httpMethod": "POST",
     "routeKey": "POST /v1/pan/verify", "status": "200", "responseLatency": "85",
     "integrationLatency": "80", "ip": "203.0.113.9", "merchant_id": "M1"},
    {"requestId": "gw-2", "requestTime": "01/Nov/2026:10:00:01 +0000", "httpMethod": "POST",
     "routeKey": "POST /v1/aadhaar/otp", "status": "429", "responseLatency": "3",
     "ip": "203.0.113.10", "merchant_id": "M2"},
) + "not json\n"  # fmt: skip
KONG = _json_lines(
    {"request": {"method": "POST", "uri": "/v1/face/match", "headers": {"user-agent": "curl/8"}},
     "response": {"status": 503}, "latencies": {"request": 1200, "proxy": 1100, "kong": 5},
     "service": {"name": "face"}, "route": {"name": "FACE_MATCH"}, "client_ip": "198.51.100.7",
     "started_at": 1793520000000},
)  # fmt: skip
OTEL = _json_lines(
    {"trace_id": "abc", "span_id": "s1", "timestamp": "2026-11-01T10:00:00Z", "duration_ms": 12.5,
     "http.route": "/v2/bank/verify", "http.request.method": "POST",
     "http.response.status_code": 200, "service.name": "bank", "sdk_version": "1.2.3",
     "SampleRate": 10, "deployment.environment": "prod", "cloud.region": "ap-south-1",
     "cloud_region": "delivered-too"},
    {"trace_id": "abd", "span_id": "s2", "timestamp": "2026-11-01T10:00:01Z", "duration_ms": 40,
     "http.route": "/v2/bank/verify", "http.request.method": "POST",
     "http.response.status_code": 500, "error.type": "java.net.SocketTimeoutException",
     "service.name": "bank", "sdk_version": "1.2.4", "SampleRate": 10},
)  # fmt: skip


def _attr(key: str, value: str, kind: str = "stringValue") -> dict:
    return {"key": key, "value": {kind: value}}


OTLP = _json_lines({"resourceSpans": [{
    "resource": {"attributes": [_attr("service.name", "kyc-api"), _attr("country", "IN"),
                                _attr("deployment.environment.name", "prod"),
                                _attr("service.version", "2.3.1")]},
    "scopeSpans": [{"scope": {"name": "http"}, "spans": [
        {"traceId": "5B8EFFF798038103D269B633813FC60C", "spanId": "EEE19B7EC3C1B174",
         "name": "POST /v1/pan/verify", "kind": 2, "startTimeUnixNano": "1793520000000000000",
         "endTimeUnixNano": "1793520000250000000", "status": {"code": 2},
         "attributes": [_attr("http.route", "/v1/pan/verify"),
                        _attr("http.response.status_code", "200", "intValue")]},
        # a CLIENT span (the service calling its database) is no API call
        {"traceId": "5B8EFFF798038103D269B633813FC60C", "spanId": "AAA19B7EC3C1B174",
         "name": "GET db", "kind": 3, "startTimeUnixNano": 1793520000010000000,
         "endTimeUnixNano": 1793520000020000000, "attributes": []},
    ]}]}]})  # fmt: skip
# the same calls as Envoy writes them in JSON with Istio's default keys (accessLogEncoding: JSON)
ENVOY_JSON = _json_lines(
    {"start_time": "2026-11-01T10:00:00.125Z", "method": "POST", "path": "/v1/pan/verify",
     "protocol": "HTTP/1.1", "response_code": 200, "response_flags": "-", "bytes_received": 0,
     "bytes_sent": 512, "duration": 85, "upstream_service_time": "80",
     "x_forwarded_for": "203.0.113.9", "user_agent": "okhttp/4.12.0",
     "request_id": "6f7e1c2a-1b2c-4d5e-8f90-a1b2c3d4e5f7", "authority": "kyc.example.com",
     "upstream_host": "10.1.2.3:8080", "upstream_cluster": "outbound|8080||kyc.svc",
     "route_name": "default"},
    {"start_time": "2026-11-01T10:00:02.000Z", "method": "GET", "path": "/v2/ifsc/HDFC0001234",
     "protocol": "HTTP/1.1", "response_code": 503, "response_flags": "UF", "bytes_received": 0,
     "bytes_sent": 91, "duration": 30001, "upstream_service_time": None,
     "x_forwarded_for": None, "user_agent": "curl/8.4.0", "request_id": None,
     "authority": "kyc.example.com", "upstream_host": "10.1.2.5:8080",
     "upstream_cluster": "outbound|8080||ifsc.svc", "route_name": "default"},
)  # fmt: skip
# Load balancers and gateways of other makers, each with the same two calls as its maker
# writes them: a PAN verification that passed (85 ms, 80 of them upstream, from a mobile app)
# and a face match that failed at the gateway (its upstream never answered), plus a line
# of no such form where the shape is text. Field layouts from each maker's documentation.
ALB = (
    "https 2026-11-01T10:00:00.125000Z app/kyc-alb/50dc6c495c0c9188 203.0.113.9:2817 "
    "10.0.0.1:80 0.003 0.080 0.002 200 200 512 366 "
    '"POST https://kyc.example.com:443/v1/pan/verify?consent=yes HTTP/1.1" "okhttp/4.12.0" '
    "ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 "
    "arn:aws:elasticloadbalancing:ap-south-1:123456789012:targetgroup/pan/73e2d6bc24d8a067 "
    '"Root=1-58337281-1d84f3d73c47ec4e58577259" "kyc.example.com" '
    '"arn:aws:acm:ap-south-1:123456789012:certificate/12345678-1234-1234-1234-123456789012" '
    '1 2026-11-01T10:00:00.040000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1a2b\n'
    "h2 2026-11-01T10:00:02.000000Z app/kyc-alb/50dc6c495c0c9188 198.51.100.7:51234 "
    "10.0.0.2:80 -1 -1 -1 502 - 1024 272 "
    '"POST https://kyc.example.com:443/v1/face/match HTTP/2.0" "Mozilla/5.0 (iPhone)" '
    "ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 "
    "arn:aws:elasticloadbalancing:ap-south-1:123456789012:targetgroup/face/73e2d6bc24d8a068 "
    '"Root=1-58337281-1d84f3d73c47ec4e58577260" "kyc.example.com" "-" 2 '
    '2026-11-01T10:00:01.990000Z "forward" "-" "TargetConnectionError" "10.0.0.2:80" "-" "-" "-"\n'
    "http 2026-11-01 not an ALB line\n"
)
HAPROXY = (
    "Nov  1 10:00:00 lb1 haproxy[14389]: 203.0.113.9:2817 [01/Nov/2026:10:00:00.125] "
    "https-in~ pan/pan1 2/0/3/77/85 200 366 - - ---- 3/3/1/1/0 0/0 {okhttp/4.12.0} "
    '"POST /v1/pan/verify?consent=yes HTTP/1.1"\n'
    # no syslog prefix (HAProxy 2.x logging to stdout); no server answered: Tw, Tc, Tr -1
    "198.51.100.7:51234 [01/Nov/2026:10:00:02.000] https-in~ face/<NOSRV> 0/-1/-1/-1/0 503 "
    '217 - - SC-- 3/3/0/0/0 0/0 "POST /v1/face/match HTTP/1.1"\n'
    "Nov  1 10:00:03 lb1 haproxy[14389]: Proxy https-in started.\n"
)
TRAEFIK = (
    '203.0.113.9 - - [01/Nov/2026:15:30:00 +0530] "POST /v1/pan/verify?consent=yes HTTP/1.1" '
    '200 366 "-" "okhttp/4.12.0" 1 "pan@docker" "http://10.0.0.1:8080" 85ms\n'
    '198.51.100.7 - - [01/Nov/2026:10:00:02 +0000] "POST /v1/face/match HTTP/2.0" 502 11 "-" '
    '"Mozilla/5.0 (iPhone)" 2 "face@docker" "http://10.0.0.2:8080" 3ms\n'
    "time=2026-11-01T10:00:03Z level=info msg=Configuration loaded\n"
)
TRAEFIK_JSON = _json_lines(
    {"ClientAddr": "203.0.113.9:2817", "ClientHost": "203.0.113.9", "ClientPort": "2817",
     "ClientUsername": "-", "DownstreamContentSize": 366, "DownstreamStatus": 200,
     "Duration": 85000000, "OriginContentSize": 366, "OriginDuration": 80000000,
     "OriginStatus": 200, "Overhead": 5000000, "RequestAddr": "kyc.example.com",
     "RequestContentSize": 512, "RequestCount": 1, "RequestHost": "kyc.example.com",
     "RequestMethod": "POST", "RequestPath": "/v1/pan/verify?consent=yes", "RequestPort": "-",
     "RequestProtocol": "HTTP/1.1", "RequestScheme": "https", "RetryAttempts": 0,
     "RouterName": "pan@docker", "ServiceAddr": "10.0.0.1:8080", "ServiceName": "pan@docker",
     "ServiceURL": "http://10.0.0.1:8080", "StartLocal": "2026-11-01T15:30:00.125+05:30",
     "StartUTC": "2026-11-01T10:00:00.125000000Z", "entryPointName": "websecure",
     "level": "info", "msg": "", "time": "2026-11-01T10:00:00Z",
     "request_User-Agent": "okhttp/4.12.0", "request_X-Request-Id": "tr-1"},
    {"ClientAddr": "198.51.100.7:51234", "ClientHost": "198.51.100.7", "ClientPort": "51234",
     "ClientUsername": "-", "DownstreamContentSize": 11, "DownstreamStatus": 502,
     "Duration": 3000000, "OriginContentSize": 0, "OriginDuration": 0, "OriginStatus": 0,
     "RequestHost": "kyc.example.com", "RequestMethod": "POST", "RequestPath": "/v1/face/match",
     "RequestProtocol": "HTTP/2.0", "RouterName": "face@docker", "ServiceName": "face@docker",
     "StartUTC": "2026-11-01T10:00:02Z", "level": "info", "msg": "",
     "request_User-Agent": "Mozilla/5.0 (iPhone)", "request_X-Request-Id": "tr-2"},
)  # fmt: skip
GCP = _json_lines(
    {"insertId": "65f1a2b3000c1d2e3f4a5b6c", "httpRequest": {
        "requestMethod": "POST", "requestUrl": "https://pan-7q2x.a.run.app/v1/pan/verify?consent=yes",
        "requestSize": "512", "status": 200, "responseSize": "366", "userAgent": "okhttp/4.12.0",
        "remoteIp": "203.0.113.9", "serverIp": "10.0.0.1", "latency": "0.085s",
        "protocol": "HTTP/1.1"},
     "resource": {"type": "cloud_run_revision", "labels": {
         "service_name": "pan", "location": "asia-south1", "project_id": "kyc-prod",
         "revision_name": "pan-00042-abc", "configuration_name": "pan"}},
     "timestamp": "2026-11-01T10:00:00.125Z", "severity": "INFO",
     "logName": "projects/kyc-prod/logs/run.googleapis.com%2Frequests",
     "trace": "projects/kyc-prod/traces/0123456789abcdef0123456789abcdef",
     "receiveTimestamp": "2026-11-01T10:00:00.300Z"},
    {"insertId": "65f1a2b3000c1d2e3f4a5b6d", "httpRequest": {
        "requestMethod": "POST", "requestUrl": "https://face-7q2x.a.run.app/v1/face/match",
        "status": 503, "userAgent": "Mozilla/5.0 (iPhone)", "remoteIp": "198.51.100.7",
        "latency": "0.003s", "protocol": "HTTP/1.1"},
     "resource": {"type": "cloud_run_revision", "labels": {"service_name": "face"}},
     "timestamp": "2026-11-01T10:00:02Z", "severity": "ERROR",
     "receiveTimestamp": "2026-11-01T10:00:02.100Z"},
)  # fmt: skip
APIM = _json_lines(
    {"time": "2026-11-01T10:00:00.1250000Z", "category": "GatewayLogs",
     "resourceId": "/SUBSCRIPTIONS/0F1E2D3C/RESOURCEGROUPS/KYC/PROVIDERS/MICROSOFT.APIMANAGEMENT/SERVICE/KYC-APIM",
     "operationName": "Microsoft.ApiManagement/GatewayLogs", "durationMs": 85,
     "callerIpAddress": "203.0.113.9", "correlationId": "3f1c2b7a-9d4e-4c1a-8b2f-6e5d4c3b2a10",
     "location": "Central India", "properties": {
         "method": "POST", "url": "https://kyc-apim.azure-api.net/kyc/v1/pan/verify?consent=yes",
         "backendResponseCode": 200, "responseCode": 200, "responseSize": 366, "cache": "none",
         "backendTime": 80, "requestSize": 512, "apiId": "kyc", "operationId": "verify-pan", "apimSubscriptionId": "acme-bank",
         "apiRevision": "1", "productId": "starter", "clientProtocol": "HTTP/1.1",
         "backendProtocol": "HTTP/1.1", "backendMethod": "POST",
         "backendUrl": "https://pan.internal/v1/pan/verify"}},
    {"time": "2026-11-01T10:00:02Z", "category": "GatewayLogs",
     "operationName": "Microsoft.ApiManagement/GatewayLogs", "durationMs": 3,
     "callerIpAddress": "198.51.100.7", "correlationId": "5e2a7c91-3b6d-4f08-9a1e-c4d7b2f9e381",
     "location": "Central India", "properties": {
         "method": "POST", "url": "https://kyc-apim.azure-api.net/kyc/v1/face/match",
         "responseCode": 503, "apiId": "kyc", "operationId": "match-face", "apiRevision": "1",
         "lastError": {"source": "forward-request", "reason": "BackendConnectionFailure"}}},
)  # fmt: skip
CADDY = _json_lines(
    {"level": "info", "ts": 1793527200.125, "logger": "http.log.access.log0",
     "msg": "handled request", "request": {
         "remote_ip": "203.0.113.9", "remote_port": "2817", "client_ip": "203.0.113.9",
         "proto": "HTTP/1.1", "method": "POST", "host": "kyc.example.com",
         "uri": "/v1/pan/verify?consent=yes",
         "headers": {"User-Agent": ["okhttp/4.12.0"], "X-Request-Id": ["cd-1"]}},
     "bytes_read": 512, "user_id": "", "duration": 0.085, "size": 366, "status": 200,
     "resp_headers": {"Server": ["Caddy"]}},
    {"level": "error", "ts": 1793527202.0, "logger": "http.log.access.log0",
     "msg": "handled request", "request": {
         "remote_ip": "198.51.100.7", "remote_port": "51234", "client_ip": "198.51.100.7",
         "proto": "HTTP/2.0", "method": "POST", "host": "kyc.example.com", "uri": "/v1/face/match",
         "headers": {"User-Agent": ["Mozilla/5.0 (iPhone)"], "X-Request-Id": ["cd-2"]}},
     "bytes_read": 1024, "user_id": "", "duration": 0.003, "size": 0, "status": 502,
     "resp_headers": {"Server": ["Caddy"]}},
)  # fmt: skip
# nginx's default `main` format (the stock nginx.conf and Docker image): the combined
# format and "$http_x_forwarded_for", no timings
NGINX_MAIN = (
    '203.0.113.9 - - [01/Nov/2026:10:00:00 +0000] "POST /v1/pan/verify?consent=yes HTTP/1.1" 200 '
    '366 "-" "okhttp/4.12.0" "198.51.100.7, 10.0.0.1"\n'
    '198.51.100.7 - - [01/Nov/2026:10:00:02 +0000] "POST /v1/face/match HTTP/2.0" 502 150 "-" '
    '"Mozilla/5.0 (iPhone)" "-"\n'
    "nginx: [warn] conflicting server name\n"
)
# ingress-nginx's default (Kubernetes): the face match tried two upstreams, both failed
INGRESS_NGINX = (
    '203.0.113.9 - - [01/Nov/2026:10:00:00 +0000] "POST /v1/pan/verify?consent=yes HTTP/1.1" 200 '
    '366 "-" "okhttp/4.12.0" 512 0.085 [kyc-pan-80] [] 10.0.0.1:8080 366 0.080 200 '
    "6f7e1c2a9d4e4c1a8b2f6e5d4c3b2a10\n"
    '198.51.100.7 - - [01/Nov/2026:10:00:02 +0000] "POST /v1/face/match HTTP/2.0" 502 150 "-" '
    '"Mozilla/5.0 (iPhone)" 1024 0.003 [kyc-face-80] [] 10.0.0.2:8080, 10.0.0.3:8080 0, 0 '
    "0.001, 0.002 502, 502 5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f\n"
    "I1101 10:00:03.000000       7 controller.go:190] Configuration changes detected\n"
)
# nginx's JSON log (log_format escape=json) with nginx's variable names as keys
NGINX_JSON = _json_lines(
    {"time_iso8601": "2026-11-01T15:30:00+05:30", "remote_addr": "203.0.113.9",
     "remote_user": "-", "request": "POST /v1/pan/verify?consent=yes HTTP/1.1", "status": "200",
     "body_bytes_sent": "366", "request_time": "0.085", "upstream_response_time": "0.080",
     "http_referer": "", "http_user_agent": "okhttp/4.12.0",
     "request_id": "9f0c1d2e3a4b5c6d7e8f9a0b1c2d3e4f"},
    {"time_iso8601": "2026-11-01T10:00:02+00:00", "remote_addr": "198.51.100.7",
     "remote_user": "-", "request": "POST /v1/face/match HTTP/2.0", "status": "502",
     "body_bytes_sent": "157", "request_time": "0.003", "upstream_response_time": "-",
     "http_referer": "", "http_user_agent": "Mozilla/5.0 (iPhone)",
     "request_id": "0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d"},
)  # fmt: skip
TSV = "timestamp\tapi_name\tstatus_code\tlatency_ms\n2026-11-01 10:00:00\tPAN_OCR\t200\t55\n"
# a spreadsheet's export where the comma is the decimal mark: split at `;`, numbers with a
# decimal comma, or a point, or none; `1.234,5` (a thousands point) is no number read here;
# dates day first, with dots (the 13th says so)
SPREADSHEET = (
    "timestamp;api_name;status_code;latency_ms;upstream_latency_ms\n"
    "13.11.2026 10:00:00;PAN_OCR;200;120,5;100,25\n13.11.2026 10:00:01;PAN_OCR;200;99.5;\n"
    "13.11.2026 10:00:02;PAN_OCR;200;-0,5;\n1.11.2026 10:00:03;PAN_OCR;200;80;\n"
    "13.11.2026 10:00:04;PAN_OCR;200;1.234,5;\n"
)
# a US export: dates month first (the 13th says so), with and without a zone, no 30 February;
# latencies with their units, as Go's time.Duration writes them
US_EXPORT = (
    "request_id,timestamp,api_name,status_code,latency_ms\nus-1,11/13/2026 10:00:00,PAN_OCR,200,250ms\n"
    "us-2,11/2/2026T10:00:00Z,PAN_OCR,200,1.5s\nus-3,2/30/2026 10:00:00,PAN_OCR,200,52\n"
    "us-4,11/14/2026 10:00:00,PAN_OCR,200,350\u00b5s\nus-5,11/14/2026 10:00:01,PAN_OCR,200,5m\n"
)


def write_shapes(folder: Path) -> dict[str, Path]:
    files = {
        "nginx.log": NGINX, "apache_d.log": APACHE_D, "apigw.json": APIGW, "kong.json": KONG,
        "otel.jsonl": OTEL, "otlp.json": OTLP, "tab.tsv": TSV, "sheet.csv": SPREADSHEET,
        "us.csv": US_EXPORT, "envoy.log": ENVOY,
        "istio.jsonl": ENVOY_JSON, "alb.log": ALB, "haproxy.log": HAPROXY,
        "traefik.log": TRAEFIK, "traefik.json": TRAEFIK_JSON, "cloud_run.json": GCP,
        "apim.json": APIM, "caddy.json": CADDY, "nginx.json": NGINX_JSON,
        "nginx_main.log": NGINX_MAIN, "ingress_nginx.log": INGRESS_NGINX,
    }  # fmt: skip

    # the same calls (under other ids) as one JSON document: an array as `gcloud logging read
    # --format=json` writes it, and Azure's older {"records": [...]} blob (gzipped, with an
    # element that is no record)
    def other_ids(text: str, key: str) -> list:
        return [(r := json.loads(line)) | {key: r[key] + "-doc"} for line in text.splitlines()]

    files["gcloud.json"] = json.dumps(other_ids(GCP, "insertId"), indent=2)
    # a load balancer's pool per API: one to one with the API once routes are templated,
    # though the raw routes hold ids (an IFSC code each)
    files["pools.jsonl"] = _json_lines(*(
        {"request_id": f"pool-{i}", "timestamp": f"2026-11-01T11:00:{i:02d}Z",
         "http.request.method": "GET" if i % 2 else "POST",
         "http.route": f"/v2/ifsc/HDFC000{1000 + i}" if i % 2 else "/v1/pan/verify",
         "http.response.status_code": 200, "duration_ms": 40 + i,
         "upstream_pool": "ifsc-pool" if i % 2 else "pan-pool"}
        for i in range(40)
    ))  # fmt: skip
    # the same lines as a collector keeps them: a Kubernetes node's container log (CRI) of
    # an nginx ingress, and a CloudWatch Logs export of API Gateway's access log
    files["ingress.log"] = "".join(
        f"2026-11-01T10:00:0{i}.123456789Z stdout F {line}\n"
        for i, line in enumerate(NGINX.splitlines()) if line.strip()
    )  # fmt: skip
    files["cloudwatch.txt"] = "".join(
        f"2026-11-01T10:00:0{i}.000Z {line}\n" for i, line in enumerate(APIGW.splitlines())
    )
    paths = {name: folder / name for name in files}
    for name, text in files.items():
        paths[name].write_text(text, encoding="utf-8")
    records = [*other_ids(APIM, "correlationId"), 42]
    paths["apim_records.json.gz"] = folder / "apim_records.json.gz"
    paths["apim_records.json.gz"].write_bytes(
        gzip.compress(json.dumps({"records": records}, indent=1).encode())
    )
    con = duckdb.connect()
    paths["export.parquet"] = folder / "export.parquet"
    con.execute(f"""
        copy (select 'pq-' || i as request_id, '2026-11-01 10:00:00' as ts, 'PAN_OCR' as api,
                     'v2' as version, 'Metro' as region, 'Bank' as client_type,
                     'PAN' as document_type, 'success' as status, 200 as http_status,
                     812.5 + i as latency
              from range(3) t(i)) to '{paths["export.parquet"]}' (format parquet)
    """)  # fmt: skip
    con.close()
    real = folder / "apache_combined.log"
    shutil.copyfile(REAL_LOG, real)
    paths["apache_combined.log"] = real
    paths["apache_combined.log.gz"] = folder / "apache_combined.log.gz"
    paths["apache_combined.log.gz"].write_bytes(gzip.compress(real.read_bytes()))
    return paths


@pytest.mark.parametrize(
    ("first_line", "shape"),
    [
        (NGINX.splitlines()[0], "access_log"),
        (ENVOY.splitlines()[0], "envoy"),
        (ENVOY.splitlines()[1], "envoy"),
        (ENVOY_JSON.splitlines()[0], "envoy_json"),
        (ALB.splitlines()[0], "aws_alb"),
        (ALB.splitlines()[1], "aws_alb"),
        (HAPROXY.splitlines()[0], "haproxy"),
        (HAPROXY.splitlines()[1], "haproxy"),
        (TRAEFIK.splitlines()[0], "traefik"),
        (TRAEFIK_JSON.splitlines()[0], "traefik_json"),
        (GCP.splitlines()[0], "gcp_http_request"),
        (APIM.splitlines()[0], "azure_apim"),
        (CADDY.splitlines()[0], "caddy"),
        (NGINX_JSON.splitlines()[0], "nginx_json"),
        (NGINX_MAIN.splitlines()[0], "access_log"),
        (INGRESS_NGINX.splitlines()[0], "ingress_nginx"),
        (INGRESS_NGINX.splitlines()[1], "ingress_nginx"),
        (APIGW.splitlines()[0], "aws_api_gateway"),
        (KONG.splitlines()[0], "kong"),
        (OTEL.splitlines()[0], "otel_spans"),
        (OTLP.splitlines()[0], "otlp_json"),
        ('{"timestamp": "x", "api_name": "PAN_OCR"}', "jsonl"),
        ("timestamp,api_name", "csv"),
        ("#Version: 1.0", "w3c_extended"),
        ("#Software: Microsoft Internet Information Services 10.0", "w3c_extended"),
    ],
)
def test_shape_is_detected_from_the_first_line(first_line: str, shape: str) -> None:
    assert readers.detect_shape(first_line).name == shape


def _otlp_request(spans: int) -> dict:
    """One OTLP export request of `spans` SERVER spans (about 330 bytes each), each with a
    list of attributes of its own (a test may add to one span's)."""
    request = json.loads(OTLP.splitlines()[0])
    server = request["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    request["resourceSpans"][0]["scopeSpans"][0]["spans"] = [
        server | {"spanId": f"{i:016x}", "attributes": list(server["attributes"])}
        for i in range(spans)
    ]
    return request


@pytest.mark.parametrize("gzipped", [False, True])
def test_an_export_request_longer_than_the_sniffed_head_is_still_otlp(tmp_path, gzipped) -> None:
    """The Collector's file exporter writes one export request a line: a line of many spans
    is longer than the bytes the shape is sniffed from (64 KiB). On main, cut there, it read
    as a JSON document of `resourceSpans` whose records had no field of any shape, and every
    file failed."""
    from api_trust.ingest import FIRST_LINE_MAX, probe_source

    text = _json_lines(_otlp_request(600), _otlp_request(2))
    assert len(text.splitlines()[0]) > 3 * (1 << 16) and len(text) < FIRST_LINE_MAX
    path = tmp_path / ("traces.json.gz" if gzipped else "traces.json")
    path.write_bytes(gzip.compress(text.encode()) if gzipped else text.encode())
    probe = probe_source(path)
    assert (probe.shape.name, probe.document) == ("otlp_json", None)
    db = tmp_path / "warehouse.duckdb"
    loaded = run([sys.executable, "-m", "api_trust.ingest", str(path)], db, tmp_path)
    assert "602 records, 602 landed, 0 rejected" in loaded.stdout, loaded.stdout


# IIS's default log (spaces, CRLF, time-taken in ms), restarted with other fields midway,
# with a line of neither form; and CloudFront's standard log (tabs, time-taken in seconds)
IIS = "\r\n".join(
    [
        "#Software: Microsoft Internet Information Services 10.0",
        "#Version: 1.0",
        "#Date: 2026-11-05 10:00:00",
        "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
        "cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken",
        "2026-11-05 10:00:01 10.0.0.5 POST /v1/pan/verify - 443 - 203.0.113.7 "
        "python-requests/2.31.0 - 200 0 0 85",
        "2026-11-05 10:00:02 10.0.0.5 POST /v1/face/match email=jane%40example.in 443 - "
        "203.0.113.8 Mozilla/5.0+(iPhone;+CPU+iPhone+OS+17_0) - 503 0 0 1200",
        "a line of neither form",
        "#Software: Microsoft Internet Information Services 10.0",
        "#Fields: date time cs-method cs-uri-stem sc-status time-taken",
        "2026-11-05 11:00:00 GET /health 200 0",
        "",
    ]
)
CLOUDFRONT = "\n".join([
    "#Version: 1.0",
    "#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status "
    "cs(Referer) cs(User-Agent) cs-uri-query x-edge-result-type x-edge-request-id "
    "x-host-header time-taken",
    "\t".join(["2026-11-05", "10:00:01", "BOM78-P1", "392", "192.0.2.100", "POST",
               "d111.cloudfront.net", "/v1/pan/verify", "200", "-", "okhttp/4.12.0", "-",
               "Miss", "SOX4xwn4XV6Q4rgb==", "api.example.in", "0.085"]),
    "\t".join(["2026-11-05", "10:00:02", "BOM78-P1", "392", "192.0.2.101", "GET",
               "d111.cloudfront.net", "/v2/ifsc/HDFC0001234", "502", "-", "curl/8.4.0", "-",
               "Error", "AbC==", "api.example.in", "30.002"]),
    "",
])  # fmt: skip


def test_w3c_extended_logs_read_each_record_with_the_fields_its_directive_names(
    tmp_path: Path,
) -> None:
    """IIS and CloudFront logs: each record read with the `#Fields:` directive before it,
    date and time as one UTC timestamp, time-taken's unit per file (said in a note), `-`
    as no value; directives are header lines and a line that fits none is a reject, so
    every line is accounted for."""
    db = tmp_path / "warehouse.duckdb"
    paths = [tmp_path / "iis.log", tmp_path / "cloudfront.log"]
    paths[0].write_bytes(IIS.encode())
    paths[1].write_bytes(CLOUDFRONT.encode())
    proc = run([sys.executable, "-m", "api_trust.ingest", *map(str, paths)], db, tmp_path)
    said = proc.stdout + proc.stderr
    assert "iis.log: time_taken read as milliseconds" in said
    assert "cloudfront.log: time_taken read as seconds" in said
    wh = Warehouse(db, tmp_path)
    rows = wh.rows("""
        select b.source_name, c.source_record_no, c.request_id, c."timestamp", c.http_method,
               c.route, c.status_code, c.latency_ms, c.user_agent_family, c.client_ip is null,
               c.extra_fields->>'$.cs_uri_query', c.extra_fields->>'$.x_edge_location'
        from raw.api_calls as c join raw.load_batches as b using (batch_id)
        order by b.source_name, c.source_record_no
    """)  # fmt: skip
    assert [tuple(float(v) if i == 7 else v for i, v in enumerate(r)) for r in rows] == [
        ("cloudfront.log", 3, "SOX4xwn4XV6Q4rgb==", "2026-11-05 10:00:01", "POST",
         "/v1/pan/verify", "200", 85.0, "mobile_app", False, None, "BOM78-P1"),
        ("cloudfront.log", 4, "AbC==", "2026-11-05 10:00:02", "GET", "/v2/ifsc/HDFC0001234",
         "502", 30002.0, "http_library", False, None, "BOM78-P1"),
        ("iis.log", 5, None, "2026-11-05 10:00:01", "POST", "/v1/pan/verify", "200", 85.0,
         "http_library", False, None, None),
        # the query's email, percent-encoded, masked at landing
        ("iis.log", 6, None, "2026-11-05 10:00:02", "POST", "/v1/face/match", "503", 1200.0,
         "mobile_browser", False, "email=[EMAIL]", None),
        # after the restart: the second directive's fields
        ("iis.log", 10, None, "2026-11-05 11:00:00", "GET", "/health", "200", 0.0, None,
         True, None, None),
    ]  # fmt: skip
    counts = wh.rows("""
        select source_name, source_format, line_count, header_line_count, blank_line_count,
               landed_line_count, rejected_line_count, record_count
        from raw.load_batches order by source_name
    """)  # fmt: skip
    assert counts == [
        ("cloudfront.log", "w3c_extended", 4, 2, 0, 2, 0, 2),
        ("iis.log", "w3c_extended", 10, 6, 0, 3, 1, 4),
    ]
    assert wh.rows("select source_line, raw_record from raw.load_rejects") == [
        (7, "a line of neither form")
    ]


@ahead("shapes_warehouse")
def _shapes(tmp_path_factory, _) -> tuple[Warehouse, dict[str, Path]]:
    work = tmp_path_factory.mktemp("shapes")
    db = work / "warehouse.duckdb"
    generate(db, work, "--rows", "3000", "--seed", "5")
    paths = write_shapes(work)
    proc = run([sys.executable, "-m", "api_trust.ingest", *map(str, paths.values())], db, work)
    assert "skipped: already loaded" in proc.stdout  # the gzipped copy of the real log
    dbt(db, work, "build", "--quiet")
    return Warehouse(db, work), paths


@pytest.fixture(scope="module")
def shapes_warehouse(request) -> tuple[Warehouse, dict[str, Path]]:
    return built(request)


def _batch(wh: Warehouse, name: str) -> str:
    return wh.scalar("select batch_id from raw.load_batches where source_name = ?", [name])


def test_user_agents_become_families_and_scanners_are_bots() -> None:
    """vars.user_agent_families, first match wins: a port scanner's user agent starts as a
    browser's (zgrab read as `browser` on an API Gateway log's `$default` hits)."""
    agents = ["Mozilla/5.0 zgrab/0.x", "sqlmap/1.7", "okhttp/4.12.0", "Mozilla/5.0 (iPhone)",
              "Mozilla/5.0 (X11; Linux)", "axios/1.6.2", "-", "python-requests/2.31.0",
              "curl/8.4.0", "Wget/1.21", "kube-probe/1.29", "Java/17.0.2", "Slackbot 1.0"]  # fmt: skip
    sql = readers.user_agent_family_sql("ua")
    got = dict(duckdb.sql(f"select ua, {sql} from unnest({agents!r}) as t(ua)").fetchall())
    assert got == {
        "Mozilla/5.0 zgrab/0.x": "bot", "sqlmap/1.7": "bot", "okhttp/4.12.0": "mobile_app",
        "Mozilla/5.0 (iPhone)": "mobile_browser", "Mozilla/5.0 (X11; Linux)": "browser",
        "axios/1.6.2": "http_library", "-": None,
        # a partner's backend calls the API with an HTTP library: API traffic, not a bot
        "python-requests/2.31.0": "http_library", "curl/8.4.0": "http_library",
        "Java/17.0.2": "http_library", "Wget/1.21": "bot", "kube-probe/1.29": "bot",
        "Slackbot 1.0": "bot",
    }  # fmt: skip


def test_real_access_log_every_line_accounted(shapes_warehouse) -> None:
    wh, paths = shapes_warehouse
    lines = paths["apache_combined.log"].read_text(encoding="utf-8").splitlines()
    codes = Counter(int(m.group(1)) for line in lines if (m := re.search(r'" (\d{3}) ', line)))
    expected_failures = sum(n for code, n in codes.items() if code >= 400)
    row = wh.rows(
        "select line_count, unaccounted_line_count, fact_count, quarantined_count, "
        "duplicate_count, rejected_count, is_reconciled from dq_batch_summary where batch_id = ?",
        [_batch(wh, "apache_combined.log")],
    )[0]
    assert row[0] == len(lines) == 10_000 and row[1] == 0 and row[6] is True
    assert row[2] >= 9_990 and sum(row[2:6]) == 10_000
    failures = wh.scalar(
        "select count(*) from fct_api_calls where batch_id = ? and not is_success",
        [_batch(wh, "apache_combined.log")],
    )
    assert failures == expected_failures == 220
    # the line with a truncated user agent is read, not lost
    assert (
        wh.scalar(
            "select count(*) from raw.api_calls where batch_id = ? and source_record_no = 8899",
            [_batch(wh, "apache_combined.log")],
        )
        == 1
    )
    # a website is not a thousand APIs: routes fold past vars.max_routes_per_service
    apis = wh.scalar(
        "select count(distinct api_name) from fct_api_calls where batch_id = ?",
        [_batch(wh, "apache_combined.log")],
    )
    assert apis <= 260
    classes = dict(wh.rows(
        "select traffic_class, count(*) from fct_api_calls where batch_id = ? group by 1",
        [_batch(wh, "apache_combined.log")]))  # fmt: skip
    assert (
        classes["probe_method"] == 43 and classes["static_asset"] > 5000 and classes["bot"] > 1000
    )


def test_units_offsets_and_upstream_lists(shapes_warehouse) -> None:
    wh, _ = shapes_warehouse
    nginx = wh.rows(
        "select called_at, latency_ms, upstream_latency_ms, http_route from fct_api_calls "
        "where batch_id = ? order by called_at",
        [_batch(wh, "nginx.log")],
    )
    # 15:30 at +0530 is 10:00 UTC; seconds become ms; "-" is no value; a list is summed
    assert [str(r[0]) for r in nginx] == [
        "2026-11-01 10:00:00", "2026-11-01 10:00:01", "2026-11-01 10:00:02"]  # fmt: skip
    assert [r[1] for r in nginx] == [123.0, 30001.0, 1.0]
    assert [r[2] for r in nginx] == [120.0, None, 150.0]
    assert "ABCDE1234F" not in str(nginx) and nginx[1][3] == "/v1/pan/[PAN]/status"
    assert wh.scalar(
        "select list(latency_ms order by called_at) from fct_api_calls where batch_id = ?",
        [_batch(wh, "apache_d.log")],
    ) == [2.5, 0.9]  # %D microseconds
    assert (
        wh.scalar(
            "select latency_ms from fct_api_calls where batch_id = ?", [_batch(wh, "kong.json")]
        )
        == 1200.0
    )  # ms
    assert (
        wh.scalar(
            "select latency_ms from fct_api_calls where batch_id = ?", [_batch(wh, "otlp.json")]
        )
        == 250.0
    )  # ns
    # decimal commas read where the batch's decimal mark is the comma (a `;` export), and
    # only there: the tab file's is the point
    assert wh.rows("select source_name, decimal_mark from staging.stg_logs__load_batches "
                   "where source_name in ('sheet.csv', 'tab.tsv') order by 1") == [
        ("sheet.csv", ","), ("tab.tsv", ".")]  # fmt: skip
    sheet = _batch(wh, "sheet.csv")
    assert wh.rows(
        "select called_at::varchar, latency_ms, upstream_latency_ms from fct_api_calls "
        "where batch_id = ? order by called_at", [sheet]) == [
        ("2026-11-01 10:00:03", 80.0, None), ("2026-11-13 10:00:00", 120.5, 100.25),
        ("2026-11-13 10:00:01", 99.5, None)]  # fmt: skip
    assert wh.rows(
        "select latency_ms_raw, reasons from dq_quarantine where batch_id = ? order by 1", [sheet]
    ) == [("-0,5", "negative_latency_ms"), ("1.234,5", "invalid_latency_ms")]
    # dates written as numbers, read in the order each file's values show
    us = _batch(wh, "us.csv")
    assert wh.rows("select date_order from staging.stg_logs__load_batches "
                   "where batch_id in (?, ?) order by date_order", [sheet, us]) == [
        ("dmy",), ("mdy",)]  # fmt: skip
    assert wh.rows(
        "select request_id, called_at::varchar, latency_ms from fct_api_calls where batch_id = ? "
        "order by 1", [us]) == [("us-1", "2026-11-13 10:00:00", 250.0),
                                ("us-2", "2026-11-02 10:00:00", 1500.0),
                                ("us-4", "2026-11-14 10:00:00", 0.35)]  # fmt: skip
    # `5m` is not read: Go writes minutes so, and a latency of minutes is no call's latency
    assert wh.rows(
        "select request_id, reasons from dq_quarantine where batch_id = ? order by 1", [us]) == [
        ("us-3", "unparseable_timestamp"), ("us-5", "invalid_latency_ms")]  # fmt: skip


def test_status_and_reasons_come_from_the_protocol(shapes_warehouse) -> None:
    wh, _ = shapes_warehouse
    got = wh.rows(
        "select status_code, is_success, error_reason, failure_class, classified_by "
        "from fct_api_calls where batch_id in (?, ?, ?) order by status_code",
        [_batch(wh, "nginx.log"), _batch(wh, "apigw.json"), _batch(wh, "kong.json")],
    )
    assert (504, False, "http_504", "timeout", "http_status_code") in got
    assert (429, False, "http_429", "rate_limited", "http_status_code") in got
    assert (503, False, "http_503", "server", "http_status_code") in got
    # an OTel error.type in the gateway's own words is kept, classed by its status code
    assert wh.rows(
        "select error_reason, failure_class from fct_api_calls where batch_id = ? "
        "and not is_success", [_batch(wh, "otel.jsonl")]) == [
        ("java.net.sockettimeoutexception", "server")]  # fmt: skip
    # a span with status ERROR fails even with a 200
    assert wh.rows(
        "select is_success, classified_by, error_reason from fct_api_calls where batch_id = ?",
        [_batch(wh, "otlp.json")],
    ) == [(False, "otel_status", "otel_error")]


def test_routes_become_apis_and_traffic_is_classed(shapes_warehouse) -> None:
    wh, _ = shapes_warehouse
    apis = dict(wh.rows(
        "select http_route, api_name from fct_api_calls where batch_id in (?, ?, ?) "
        "and http_method != 'HEAD'",
        [_batch(wh, "nginx.log"), _batch(wh, "apigw.json"), _batch(wh, "apache_d.log")]))  # fmt: skip
    assert apis["/v1/pan/verify"] == "PAN_OCR"  # seed route_patterns
    # templated (the PAN became [PAN] at landing, then {id}); one call on a service that
    # also holds the real log's 1,368 paths, so past the cap it folds to /v1/{other}
    assert apis["/v1/pan/[PAN]/status"] == "POST /v1/{other}"
    assert wh.rows(
        "select is_folded_route, is_mapped_route from intermediate.int_api_routes_mapped "
        "where route_template = '/v1/pan/{id}/status'") == [(True, False)]  # fmt: skip
    assert apis["/v2/ifsc/HDFC0001234"] == "IFSC_LOOKUP"  # an id collapsed, then mapped
    classes = dict(wh.rows(
        "select http_route || ' ' || http_method, traffic_class from fct_api_calls "
        "where batch_id in (?, ?)", [_batch(wh, "nginx.log"), _batch(wh, "apache_d.log")]))  # fmt: skip
    assert classes["/health GET"] == "health_check"
    assert classes["/v2/ifsc/HDFC0001234 HEAD"] == "probe_method"
    # non-API traffic stays in facts but not in the metric marts
    in_marts = wh.scalar("select calls from agg_platform_overview")
    assert in_marts == wh.scalar(
        "select sum(sample_weight) from fct_api_calls where is_api_traffic"
    )


def test_envoy_and_istio_lines_mean_what_envoy_wrote(shapes_warehouse) -> None:
    """Envoy's default access log and Istio's: UTC start times to the millisecond, durations
    in ms, `-` as not set (no upstream time, no request id), the client address hashed, and
    Istio's extra fields (the upstream cluster, the route's name) under Envoy's names."""
    wh, _ = shapes_warehouse
    batch = _batch(wh, "envoy.log")
    assert wh.rows(
        "select line_count, fact_count, rejected_count, unaccounted_line_count, is_reconciled "
        "from dq_batch_summary where batch_id = ?", [batch]) == [(4, 3, 1, 0, True)]  # fmt: skip
    facts = wh.rows(
        "select request_id, is_request_id_derived, called_at, http_method, status_code, "
        "latency_ms, upstream_latency_ms, user_agent_family from fct_api_calls "
        "where batch_id = ? order by called_at", [batch])  # fmt: skip
    assert [f[1:] for f in facts] == [
        (False, datetime(2026, 11, 1, 10, 0, 0, 125000), "POST", 200, 85.0, 80.0, "mobile_app"),
        (False, datetime(2026, 11, 1, 10, 0, 1), "POST", 200, 412.0, 410.0, "mobile_browser"),
        (True, datetime(2026, 11, 1, 10, 0, 2), "GET", 503, 30001.0, None, "http_library"),  # curl
    ]
    assert facts[0][0] == "6f7e1c2a-1b2c-4d5e-8f90-a1b2c3d4e5f6"
    extras = [json.loads(x) for (x,) in wh.rows(
        "select extra_fields from raw.api_calls where batch_id = ? order by source_record_no",
        [batch])]  # fmt: skip
    assert extras[0]["authority"] == "kyc.example.com" and extras[0].get("route_name") is None
    assert extras[1]["upstream_cluster"] == "outbound|8080||face.kyc.svc.cluster.local"
    assert extras[1]["route_name"] == "face-route"
    assert extras[1]["response_code_details"] == "via_upstream"
    # addresses are personal data: hashed where they are the client's, masked elsewhere
    text = json.dumps(extras) + " ".join(
        str(ip)
        for (ip,) in wh.rows("select client_ip from raw.api_calls where batch_id = ?", [batch])
    )
    assert "198.51.100.7" not in text and "203.0.113.9" not in text and "10.1.0.9" not in text


def test_envoy_json_means_what_the_text_form_means(shapes_warehouse) -> None:
    """The same two calls as Envoy writes them in JSON (Istio's default keys) land as the text
    lines do: null, not `-`, is "not set" there."""
    wh, _ = shapes_warehouse
    columns = ("called_at, http_method, status_code, latency_ms, upstream_latency_ms, "
               "user_agent_family, is_request_id_derived, client_ip is not null")  # fmt: skip

    def facts(name: str) -> list[tuple]:
        return wh.rows(f"select {columns} from fct_api_calls where batch_id = ? order by 1",
                       [_batch(wh, name)])  # fmt: skip

    text = facts("envoy.log")
    assert facts("istio.jsonl") == [text[0], text[2]]
    assert (
        wh.scalar(
            "select count(*) from raw.load_batches where source_name = 'istio.jsonl' "
            "and source_format = 'envoy_json'"
        )
        == 1
    )


PASSED_AT, FAILED_AT = datetime(2026, 11, 1, 10, 0, 0, 125000), datetime(2026, 11, 1, 10, 0, 2)
# per file, its two calls: (called_at, api_name, http_route, status_code, latency_ms,
# upstream_latency_ms, user_agent_family, is_request_id_derived, client_id)
OTHER_MAKERS = {
    # ALB: three processing times summed; -1 -1 -1 (no target answered) is no latency, and
    # the 502 stays a fact; the URL is absolute, with a query string
    "alb.log": [(PASSED_AT, "PAN_OCR", "/v1/pan/verify", 200, 85.0, 80.0, "mobile_app", False, "unknown"),
                (FAILED_AT, "FACE_MATCH", "/v1/face/match", 502, None, None, "mobile_browser", False, "unknown")],
    # HAProxy: Ta and Tr in ms; Ta 0 is a measurement, Tr -1 none; no user agent, no ids
    "haproxy.log": [(PASSED_AT, "PAN_OCR", "/v1/pan/verify", 200, 85.0, 77.0, None, True, "unknown"),
                    (FAILED_AT, "FACE_MATCH", "/v1/face/match", 503, 0.0, None, None, True, "unknown")],
    # Traefik's common format: whole seconds, the time in its offset, `85ms`
    "traefik.log": [(PASSED_AT.replace(microsecond=0), "PAN_OCR", "/v1/pan/verify", 200, 85.0, None, "mobile_app", True, "unknown"),
                    (FAILED_AT, "FACE_MATCH", "/v1/face/match", 502, 3.0, None, "mobile_browser", True, "unknown")],
    # Traefik's JSON: nanoseconds; OriginDuration (0 without an upstream) is no upstream time
    "traefik.json": [(PASSED_AT, "PAN_OCR", "/v1/pan/verify", 200, 85.0, None, "mobile_app", False, "unknown"),
                     (FAILED_AT, "FACE_MATCH", "/v1/face/match", 502, 3.0, None, "mobile_browser", False, "unknown")],
    # Cloud Logging: latency "0.085s", an absolute requestUrl
    "cloud_run.json": [(PASSED_AT, "PAN_OCR", "/v1/pan/verify", 200, 85.0, None, "mobile_app", False, "unknown"),
                       (FAILED_AT, "FACE_MATCH", "/v1/face/match", 503, 3.0, None, "mobile_browser", False, "unknown")],
    # API Management: the operation is the API, the subscription the client; its URL keeps
    # the API's path prefix (/kyc)
    "apim.json": [(PASSED_AT, "VERIFY_PAN", "/kyc/v1/pan/verify", 200, 85.0, 80.0, None, False, "acme-bank"),
                  (FAILED_AT, "MATCH_FACE", "/kyc/v1/face/match", 503, 3.0, None, None, False, "unknown")],
    # nginx's JSON: `status` is the HTTP code, the request line gives method and path
    "nginx.json": [(PASSED_AT.replace(microsecond=0), "PAN_OCR", "/v1/pan/verify", 200, 85.0, 80.0, "mobile_app", False, "unknown"),
                   (FAILED_AT, "FACE_MATCH", "/v1/face/match", 502, 3.0, None, "mobile_browser", False, "unknown")],
    # nginx's default format: no timings, so no latency (not an error)
    "nginx_main.log": [(PASSED_AT.replace(microsecond=0), "PAN_OCR", "/v1/pan/verify", 200, None, None, "mobile_app", True, "unknown"),
                       (FAILED_AT, "FACE_MATCH", "/v1/face/match", 502, None, None, "mobile_browser", True, "unknown")],
    # ingress-nginx: $request_time, the upstream times of every upstream tried summed
    "ingress_nginx.log": [(PASSED_AT.replace(microsecond=0), "PAN_OCR", "/v1/pan/verify", 200, 85.0, 80.0, "mobile_app", False, "unknown"),
                          (FAILED_AT, "FACE_MATCH", "/v1/face/match", 502, 3.0, 3.0, "mobile_browser", False, "unknown")],
    # Caddy: epoch seconds with a fraction, duration in seconds, headers as lists
    "caddy.json": [(PASSED_AT, "PAN_OCR", "/v1/pan/verify", 200, 85.0, None, "mobile_app", False, "unknown"),
                   (FAILED_AT, "FACE_MATCH", "/v1/face/match", 502, 3.0, None, "mobile_browser", False, "unknown")],
}  # fmt: skip


def test_other_makers_gateways_mean_what_their_makers_wrote(shapes_warehouse) -> None:
    """ALB, HAProxy, Traefik (both forms), Cloud Logging, API Management, Caddy, nginx's
    default and JSON formats and ingress-nginx: the same two calls, each as its maker logs
    them, become the same facts (within what each log holds); every line is accounted for,
    and a line of no such form is a reject."""
    wh, _ = shapes_warehouse
    for name, expected in OTHER_MAKERS.items():
        batch = _batch(wh, name)
        facts = wh.rows(
            "select called_at, api_name, http_route, status_code, latency_ms, upstream_latency_ms, "
            "user_agent_family, is_request_id_derived, client_id from fct_api_calls "
            "where batch_id = ? order by called_at", [batch])  # fmt: skip
        assert facts == expected, name
        rejects = 0 if name.endswith(".json") else 1
        assert wh.rows(
            "select fact_count, quarantined_count, rejected_count, unaccounted_line_count, "
            "is_reconciled from dq_batch_summary where batch_id = ?", [batch]
        ) == [(2, 0, rejects, 0, True)], name  # fmt: skip
    # each file's shape was detected from its first line
    assert dict(wh.rows(
        "select source_name, source_format from raw.load_batches where source_name in "
        f"({', '.join('?' * len(OTHER_MAKERS))})", list(OTHER_MAKERS))) == {
        "alb.log": "aws_alb", "haproxy.log": "haproxy", "traefik.log": "traefik",
        "traefik.json": "traefik_json", "cloud_run.json": "gcp_http_request",
        "apim.json": "azure_apim", "caddy.json": "caddy", "nginx.json": "nginx_json",
        "nginx_main.log": "access_log", "ingress_nginx.log": "ingress_nginx"}  # fmt: skip
    # a Cloud Run revision is the version (a deploy); without one, the path's
    assert wh.rows(
        "select api_version from fct_api_calls where batch_id = ? order by called_at",
        [_batch(wh, "cloud_run.json")]) == [("pan-00042-abc",), ("v1",)]  # fmt: skip
    # ALB's own error code lands renamed beside the call, not as its outcome's reason
    extras = wh.rows(
        "select json_extract_string(extra_fields, '$.alb_error_reason'), "
        "json_extract_string(extra_fields, '$.domain_name') from raw.api_calls "
        "where batch_id = ? order by source_record_no", [_batch(wh, "alb.log")])  # fmt: skip
    assert extras == [("-", "kyc.example.com"), ("TargetConnectionError", "kyc.example.com")]
    # no client address reaches the warehouse, hashed or masked wherever it was written
    text = " ".join(
        str(v)
        for row in wh.rows(
            "select client_ip, extra_fields from raw.api_calls where source_name in "
            f"({', '.join('?' * len(OTHER_MAKERS))})", list(OTHER_MAKERS))
        for v in row
    )  # fmt: skip
    assert "203.0.113.9" not in text and "198.51.100.7" not in text and "10.0.0.1" not in text


def test_a_field_one_to_one_with_the_templated_api_is_no_dimension(shapes_warehouse) -> None:
    """`make dimensions` on a built warehouse takes the API a record is from the facts (its
    route templated and mapped): a pool per API repeats api_name, though each raw route
    holds an id. Before the build it can only compare routes as delivered."""
    wh, _ = shapes_warehouse
    proc = run([sys.executable, "-m", "api_trust.dimensions"], wh.db, wh.work)
    said = re.search(r"^dimensions: upstream_pool: 40 values, 2 distinct, .*?-> (.+?); e\.g\.",
                     proc.stdout, re.M)  # fmt: skip
    assert said and said.group(1).startswith(
        "stays in raw: its value and the API tell each other (100% and 100% of records)"
    ), proc.stdout


def test_a_json_document_reads_as_its_records(shapes_warehouse) -> None:
    """One JSON document instead of JSON lines (an array, or an object whose one key holds
    the array): its records mean what the lines mean (the same calls under other ids); its
    shape is its first record's; an element that is no object is a reject; it has no
    physical lines to reconcile."""
    wh, _ = shapes_warehouse
    for name, shape, records, rejects, lines in (
        ("gcloud.json", "gcp_http_request", 2, 0, "cloud_run.json"),
        ("apim_records.json.gz", "azure_apim.gz", 3, 1, "apim.json"),
    ):
        assert wh.rows(
            "select source_format, record_count, landed_count, rejected_count, line_count "
            "from raw.load_batches where source_name = ?", [name]
        ) == [(shape, records, 2, rejects, None)], name  # fmt: skip
        assert wh.rows(
            "select fact_count, quarantined_count, rejected_count, is_reconciled "
            "from dq_batch_summary where batch_id = ?", [_batch(wh, name)]
        ) == [(2, 0, rejects, True)], name  # fmt: skip
        assert wh.rows(
            "select called_at, api_name, http_route, status_code, latency_ms, upstream_latency_ms, "
            "user_agent_family, is_request_id_derived, client_id from fct_api_calls "
            "where batch_id = ? order by called_at", [_batch(wh, name)]) == OTHER_MAKERS[lines]  # fmt: skip
    assert wh.rows(
        "select raw_record from raw.load_rejects where batch_id = ?",
        [_batch(wh, "apim_records.json.gz")]) == [("42",)]  # fmt: skip


def test_a_collectors_prefix_is_read_over(shapes_warehouse) -> None:
    """Lines a collector wrote with its envelope first (a CRI container log's time, stream
    and flag; a CloudWatch export's time) land as the same records as the bare lines; a
    line no reader reads is rejected whole, envelope included."""
    wh, _ = shapes_warehouse
    columns = ("timestamp, http_method, route, status_code, latency_ms, upstream_latency_ms, "
               "client_ip, user_agent_family, request_id")  # fmt: skip
    for name, bare, shape, rejected in (("ingress.log", "nginx.log", "access_log", "garbage line here"),
                                        ("cloudwatch.txt", "apigw.json", "aws_api_gateway", "not json")):  # fmt: skip
        landed = [wh.rows(f"select {columns} from raw.api_calls where batch_id = ? "
                          "order by source_record_no", [_batch(wh, n)]) for n in (name, bare)]  # fmt: skip
        assert landed[0] == landed[1] and len(landed[0]) >= 2, name
        assert wh.rows(
            "select source_format, rejected_count from raw.load_batches where source_name = ?",
            [name]) == [(shape, 1)]  # fmt: skip
        ((record,),) = wh.rows(
            "select raw_record from raw.load_rejects where batch_id = ?", [_batch(wh, name)]
        )
        assert record.startswith("2026-11-01T10:00:0") and record.endswith(" " + rejected)
        assert wh.rows(
            "select unaccounted_line_count, is_reconciled from dq_batch_summary "
            "where batch_id = ?", [_batch(wh, name)]) == [(0, True)]  # fmt: skip


@pytest.mark.parametrize(
    ("line", "prefix", "shape"),
    [("2026-11-01T10:00:00.123456789Z stdout F " + NGINX.splitlines()[0],
      "Kubernetes container log (CRI)", "access_log"),
     ("2026-11-01T10:00:00.1Z stderr P " + ENVOY.splitlines()[0], "Kubernetes container log (CRI)", "envoy"),
     ("2026-11-01T10:00:00.000Z " + APIGW.splitlines()[0], "a timestamp (CloudWatch export)", "aws_api_gateway"),
     ("2026-11-01T10:00:00.000+05:30 " + TRAEFIK_JSON.splitlines()[0], "a timestamp (CloudWatch export)", "traefik_json"),
     ("2026-11-01T10:00:00Z just a message", None, None),
     ("timestamp,api_name", None, None)],
)  # fmt: skip
def test_a_collectors_prefix_is_detected_before_a_known_shape(line, prefix, shape) -> None:
    found = readers.detect_prefix(line)
    assert (found[0], found[2].name) == (prefix, shape) if prefix else found is None


@pytest.mark.parametrize(
    ("delivered", "unit", "ms"),
    [("0.085s", "s", 85.0), ("85ms", "ms", 85.0), ("1m2.5s", "ms", 62500.0),
     ("150µs", "s", 0.15), ("85000000", "ns", 85.0), ("+109", "ms", 109.0),
     ("0.003 0.080 0.002", "s", 85.0), ("0.05, 0.1", "s", 150.0), ("0", "ms", 0.0),
     ("-1", "ms", None), ("0.003 -1 -1", "s", None), ("-", "s", None), ("", "s", None),
     ("12 parsecs", "ms", None)],
)  # fmt: skip
def test_a_duration_reads_its_own_unit_and_none_for_not_measured(delivered, unit, ms) -> None:
    sql = readers.duration_ms_sql("d", unit)
    (got,) = duckdb.execute(f"select {sql} from (select ?::varchar as d)", [delivered]).fetchone()
    assert (None if got is None else float(got)) == ms


def _epoch_reference(text: str, parser: str) -> int | None:
    """Microseconds as a decimal reads them: nine places (half up), then whole (half up)."""
    from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

    with localcontext() as ctx:
        ctx.prec = 80
        try:
            value = Decimal(text.strip()).quantize(Decimal("1e-9"), ROUND_HALF_UP)
        except InvalidOperation:
            return None
        if not value.is_finite():
            return None
        factor = Decimal(readers.EPOCH_UNIT_NS[parser]) / 1000
        micros = int((value * factor).quantize(Decimal(1), ROUND_HALF_UP))
    return micros if abs(micros) <= 9 * 10**18 else None


def test_an_epoch_reads_to_the_microsecond_and_never_fails_the_file() -> None:
    """Every epoch parser gives the microseconds a decimal reading gives (the landing's cast
    to DECIMAL(38, 9) did, at about 25 microseconds a value); a value beyond what a
    timestamp holds is null, where the cast raised and refused the whole file."""
    values = ["1793520000123456789", "1793520000123456500", "1793520000.123456789",
              "1793520000.1234565", "1793520000.12345649999", "1793520000123.4565",
              "1793520000123", "0", "00012", "12.", " 42 ", "+12", "-1", "-1.5", "1e3",
              "99999999999999999999", "9223372036854775807", "-9000000000000000000",
              "", "-", "abc", "1.2.3", "inf", "nan", "0x10"]  # fmt: skip
    con = duckdb.connect()
    con.execute("create table t (i integer, x varchar)")
    con.executemany("insert into t values (?, ?)", list(enumerate(values)))
    for parser in readers.EPOCH_UNIT_NS:
        got = dict(con.execute(
            f"select i, {readers._epoch_micros('x', parser)} from t").fetchall())  # fmt: skip
        assert [got[i] for i in range(len(values))] == [
            _epoch_reference(v, parser) for v in values
        ], parser
    # what lands: the same instant written in each unit, as the timestamp's text
    instant = {"epoch_ns": "1793520000123456789", "epoch_us": "1793520000123457",
               "epoch_ms": "1793520000123.457", "epoch_s": "1793520000.1234567"}  # fmt: skip
    for parser, text in instant.items():
        sql = readers.parse_sql(readers.FieldMap(parser=parser), "x", "k")
        assert con.execute(f"select {sql} from (select ?::varchar as x)", [text]).fetchone() == (
            "2026-11-01 08:00:00.123457",
        )


def test_an_export_request_of_many_megabytes_loads_and_a_longer_line_is_named(tmp_path) -> None:
    """30,000 spans in one export request (about 10 MB on one line) load: DuckDB refused
    any line over 8 MB, with "CSV Error on Line: 1" and nothing else. A line over the
    loader's limit is named with the limit, and its text (which may hold personal data) is
    not printed."""
    from api_trust.ingest import _first_line

    text = _json_lines(_otlp_request(30000))
    assert len(text) > 9 << 20
    path = tmp_path / "traces.json"
    path.write_text(text)
    db = tmp_path / "warehouse.duckdb"
    loaded = run([sys.executable, "-m", "api_trust.ingest", str(path)], db, tmp_path)
    assert "30,000 records, 30,000 landed, 0 rejected" in loaded.stdout, loaded.stdout
    with pytest.raises(duckdb.Error) as refused:  # the reader's own read, at a 1 MiB limit
        duckdb.execute(
            "select count(*) from read_csv(?, columns = {'line': 'VARCHAR'}, delim = '\x01', "
            "quote = '', escape = '', header = false, auto_detect = false, "
            "max_line_size = 1048576)",
            [str(path)],
        ).fetchall()
    message = _first_line(refused.value)
    assert message == "line 1 is longer than 1 MiB, the longest line the loader reads"


# Values and names no log should hold, that one record of a log may: each refused a whole
# file once (a NUL in a name, a repeated OTLP attribute, an epoch beyond a timestamp)
HOSTILE_VALUES = [None, True, -1, 0, 1e308, 10**23, "9" * 25, "", " ", "-", "NaN", {"a": 1},
                  [1, 2], ["x"], "\u0000", "é\u202e", "1e400", "0x10", "2026-13-45T99:99:99Z",
                  "-9000000000000000000"]  # fmt: skip
HOSTILE_NAMES = ["a\u0000b", "it's", "", "x" * 300, "http.route", "$.[*]", "é", "Status", "status"]


def _mutated(value: object, rng: random.Random) -> object:
    """The value with some of its fields' values (and some names) made hostile, at any depth."""
    if isinstance(value, list):
        return [_mutated(v, rng) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for name, v in value.items():
        if rng.random() < 0.1:
            name = rng.choice(HOSTILE_NAMES)
        if isinstance(v, dict | list) and rng.random() < 0.6:
            out[name] = _mutated(v, rng)
        else:
            out[name] = rng.choice(HOSTILE_VALUES) if rng.random() < 0.3 else v
    return out


def test_mutated_records_of_every_json_shape_load_and_every_line_is_counted(tmp_path) -> None:
    """Each JSON shape's records with hostile values and names (a first record as delivered,
    so that the shape is still recognised): every file loads, and each of its lines is
    landed or rejected, none lost and none refusing the rest."""
    rng = random.Random(20261207)
    shapes = {"apigw.json": APIGW, "kong.json": KONG, "otel.jsonl": OTEL, "otlp.json": OTLP,
              "istio.jsonl": ENVOY_JSON, "traefik.json": TRAEFIK_JSON, "cloud_run.json": GCP,
              "apim.json": APIM, "caddy.json": CADDY, "nginx.json": NGINX_JSON}  # fmt: skip
    paths = []
    for name, text in shapes.items():
        records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        lines = [json.dumps(records[0])]
        lines += [json.dumps(_mutated(rng.choice(records), rng)) for _ in range(30)]
        paths.append(tmp_path / name)
        paths[-1].write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = tmp_path / "warehouse.duckdb"
    loaded = run([sys.executable, "-m", "api_trust.ingest", *map(str, paths)], db, tmp_path)
    assert f"{len(paths)} file(s): {len(paths)} loaded" in loaded.stdout, loaded.stdout
    with duckdb.connect(str(db), read_only=True) as con:
        batches = con.execute("""
            select b.source_name, b.line_count, b.header_line_count + b.blank_line_count
                   + b.landed_line_count + b.rejected_line_count,
                   b.landed_count, (select count(*) from raw.api_calls c where c.batch_id = b.batch_id)
            from raw.load_batches b order by 1
        """).fetchall()  # fmt: skip
    assert [b[0] for b in batches] == sorted(shapes)
    assert all(
        lines == 31 == counted and landed == stored for _, lines, counted, landed, stored in batches
    ), batches


def test_json_names_that_differ_in_case_or_are_empty_keep_their_own_values(tmp_path) -> None:
    """DuckDB reads a struct's fields ignoring case: `note` landed with the value of `Note`
    beside it, and an empty name refused the file. Each now lands its own value; a name
    written twice gives its first, as for any other name."""
    path = tmp_path / "calls.jsonl"
    path.write_text(_json_lines(*(
        {"timestamp": f"2026-11-01T10:00:0{i}Z", "api_name": "PAN_OCR", "status": "success",
         "Note": f"upper {i}", "note": f"lower {i}", "": f"empty {i}"} for i in range(2)
    )).replace('"Note"', '"Tier": "t", "Note"'))  # fmt: skip
    db = tmp_path / "warehouse.duckdb"
    run([sys.executable, "-m", "api_trust.ingest", str(path)], db, tmp_path)
    with duckdb.connect(str(db), read_only=True) as con:
        extra = [json.loads(x) for (x,) in con.execute(
            "select extra_fields from raw.api_calls order by source_record_no").fetchall()]  # fmt: skip
    assert extra == [{"Tier": "t", "Note": f"upper {i}", "note": f"lower {i}", "": f"empty {i}"}
                     for i in range(2)]  # fmt: skip


def test_a_parquet_column_named_with_a_quote_or_a_nul_loads(tmp_path) -> None:
    """Parquet columns were read by name written into the query: a name holding a double
    quote refused the whole file. They are read by place; the names land as delivered."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "export.parquet"
    pq.write_table(pa.table({"timestamp": ["2026-11-01 10:00:00"], "api_name": ["PAN_OCR"],
                             "status": ["success"], 'a"b': ["quoted"], "x\u0000y": ["nul"]}),
                   path)  # fmt: skip
    db = tmp_path / "warehouse.duckdb"
    run([sys.executable, "-m", "api_trust.ingest", str(path)], db, tmp_path)
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute("select api_name, status, extra_fields from raw.api_calls").fetchone()
    assert row[:2] == ("PAN_OCR", "success")
    assert json.loads(row[2]) == {'a"b': "quoted", "x\u0000y": "nul"}


def test_otlp_spans_keep_file_order_and_the_last_of_a_repeated_attribute(tmp_path) -> None:
    """A span's attributes override its resource's, and a key an exporter wrote twice is
    read once, its last value (a map of them refused the whole file); a span whose time no
    timestamp holds lands without one, as does an entry of the span list that is no object;
    a line of JSON without spans and a line of no JSON are rejected with their text, and
    the spans keep the file's order."""
    request = _otlp_request(3)
    spans = request["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans[0]["attributes"] += [_attr("http.route", "/v1/pan/verify/again"),
                               _attr("service.name", "pan-svc")]  # fmt: skip
    spans[1]["startTimeUnixNano"] = "99999999999999999999999"
    # a span without a name of its own, and an attribute called `name`: the attribute is read
    del spans[2]["name"]
    spans[2]["attributes"].append(_attr("name", "named by an attribute"))
    path = tmp_path / "traces.json"
    # entries of a span list that are no object are spans without fields: records all the same
    odd = {"resourceSpans": [{"scopeSpans": [{"spans": ["x", None]}]}]}
    path.write_text(_json_lines(request, {"resourceSpans": []}) + "not json\n" + _json_lines(
        _otlp_request(1), odd))  # fmt: skip
    db = tmp_path / "warehouse.duckdb"
    loaded = run([sys.executable, "-m", "api_trust.ingest", str(path)], db, tmp_path)
    assert "8 records, 6 landed, 2 rejected" in loaded.stdout, loaded.stdout
    with duckdb.connect(str(db), read_only=True) as con:
        landed = con.execute("select source_record_no, request_id, route, service_name, "
                             "timestamp, extra_fields from raw.api_calls "
                             "order by source_record_no").fetchall()  # fmt: skip
    rows = [r[:-1] for r in landed]
    names = [json.loads(r[-1] or "{}").get("name") for r in landed]
    assert names[:4] == ["POST /v1/pan/verify", "POST /v1/pan/verify", "named by an attribute",
                         "POST /v1/pan/verify"]  # fmt: skip
    assert rows == [
        (1, f"{0:016x}", "/v1/pan/verify/again", "pan-svc", "2026-11-01 08:00:00.000000"),
        (2, f"{1:016x}", "/v1/pan/verify", "kyc-api", None),
        (3, f"{2:016x}", "/v1/pan/verify", "kyc-api", "2026-11-01 08:00:00.000000"),
        (4, f"{0:016x}", "/v1/pan/verify", "kyc-api", "2026-11-01 08:00:00.000000"),
        (5, None, None, None, None),
        (6, None, None, None, None),
    ]


def test_client_spans_and_bad_lines_are_accounted_not_counted(shapes_warehouse) -> None:
    wh, _ = shapes_warehouse
    otlp = wh.rows(
        "select record_count, fact_count, quarantined_count, set_aside_count, line_count, "
        "unaccounted_line_count from dq_batch_summary where batch_id = ?",
        [_batch(wh, "otlp.json")])[0]  # fmt: skip
    # the CLIENT span is set aside, counted: no API call, and no defect to quarantine
    assert otlp == (2, 1, 0, 1, 1, 0)
    # the SERVER span is the fact, its version the service's (semantic, without a v)
    assert (
        wh.scalar(
            "select api_version from fct_api_calls where batch_id = ?", [_batch(wh, "otlp.json")]
        )
        == "2.3.1"
    )
    # its one reason: a span that is no API call is not checked as one (no status code)
    assert wh.rows(
        "select route, reasons from intermediate.int_api_calls_validated where batch_id = ? "
        "and route <> 'fact'", [_batch(wh, "otlp.json")]) == [("set_aside", "not_a_server_span")]  # fmt: skip
    for name, rejects in (("nginx.log", 1), ("apigw.json", 1)):
        assert wh.rows(
            "select rejected_count, unaccounted_line_count, is_reconciled from dq_batch_summary "
            "where batch_id = ?", [_batch(wh, name)]) == [(rejects, 0, True)]  # fmt: skip


def test_personal_data_and_unknown_fields(shapes_warehouse) -> None:
    wh, _ = shapes_warehouse
    ips = wh.rows("select distinct client_ip from raw.api_calls where client_ip is not null")
    assert ips and all(ip.startswith("ip_") and "." not in ip for (ip,) in ips)
    assert wh.scalar("select count(*) from raw.api_calls where route like '%ABCDE1234F%'") == 0
    # a field no mapping knows is kept, reported as drift, and weighted rows keep their rate
    otel = _batch(wh, "otel.jsonl")
    assert wh.rows(
        "select extra_fields->>'$.sdk_version' from raw.api_calls where batch_id = ? order by 1",
        [otel]) == [("1.2.3",), ("1.2.4",)]  # fmt: skip
    assert wh.rows(
        "select change_type from dq_schema_drift where batch_id = ? and column_name = 'sdk_version'",
        [otel]) == [("added",)]  # fmt: skip
    assert wh.rows(
        "select distinct sample_weight from fct_api_calls where batch_id = ?", [otel]
    ) == [(10.0,)]
    # the mapping lands deployment.environment as deployment_environment (a name that can
    # be a dimension); cloud.region keeps its name, since the file also delivers cloud_region
    assert wh.rows(
        "select list_sort(json_keys(extra_fields)) from raw.api_calls "
        "where batch_id = ? and request_id = 's1'",
        [otel]) == [(["cloud.region", "cloud_region", "deployment_environment", "sdk_version"],)]  # fmt: skip
    assert wh.rows(
        "select column_name, canonical_name from staging.stg_logs__load_batch_columns "
        "where batch_id = ? and column_name like '%environment%'", [otel]
    ) == [("deployment.environment", "deployment_environment")]  # fmt: skip
    # and so does the OTLP mapping, for a resource attribute of both spans
    assert wh.rows(
        "select extra_fields->>'$.deployment_environment_name' from raw.api_calls "
        "where batch_id = ?", [_batch(wh, "otlp.json")]) == [("prod",), ("prod",)]  # fmt: skip


def test_sampled_calls_count_by_their_weight_and_intervals_by_what_was_seen(
    shapes_warehouse,
) -> None:
    """Two spans sampled 1 in 10 (one failed) stand for 20 calls with 10 failures; the
    interval is as wide as two observations allow, not as narrow as twenty would."""
    wh, _ = shapes_warehouse
    row = wh.rows(
        "select calls, sampled_calls, failures, failure_rate, failure_rate_ci_lower, "
        "failure_rate_ci_upper from agg_failure_rate_by_dimension "
        "where dimension = 'service_name' and dimension_value = 'bank'")  # fmt: skip
    assert len(row) == 1
    calls, seen, failures, rate, lower, upper = row[0]
    assert (calls, seen, failures, rate) == (20, 2, 10, 0.5)
    assert lower < 0.15 and upper > 0.85  # Wilson at n = 2 is [0.09, 0.91]; at n = 20, [0.30, 0.70]
    overview = wh.rows("select calls, sampled_calls from agg_platform_overview")[0]
    assert overview[0] - overview[1] == wh.scalar(
        "select sum(sample_weight - 1) from fct_api_calls where is_api_traffic"
    )


def test_no_finding_is_about_an_unknown_value(shapes_warehouse) -> None:
    """10,000 calls without client, region or document type beside generated ones: the
    missing values are `unknown` in facts, never a segment, and every finding has an owner."""
    wh, _ = shapes_warehouse
    assert wh.scalar("select count(*) from fct_api_calls where client_id = 'unknown'") >= 2000
    assert wh.scalar("select count(*) from rca_findings") > 0
    assert (
        wh.rows(
            "select segment from rca_findings where segment ilike '%=unknown%' or segment ilike '%=null%'"
        )
        == []
    )
    assert wh.scalar("select count(*) from rca_findings where owner_team is null") == 0


def test_impact_projects_over_the_days_that_hold_calls(shapes_warehouse) -> None:
    """A 2015 access log beside this month's calls: eleven calendar years lie between the
    first and last call, but a new finding's impact is projected over the days with data,
    so no finding counts more than (days with data) x its excess."""
    wh, _ = shapes_warehouse
    days, span = wh.rows("""
        select count(distinct cast(called_at as date)),
               date_diff('day', min(called_at), max(called_at)) + 1
        from fct_api_calls
    """)[0]  # fmt: skip
    assert span > 100 * days
    projections = wh.rows(f"""
        select impact / (greatest(excess_failures, 0) + {project_vars()["rca_slow_call_weight"]} * greatest(excess_slow_calls, 0))
        from rca_findings
        where greatest(excess_failures, 0) + greatest(excess_slow_calls, 0) > 0
    """)  # fmt: skip
    assert projections and all(p <= days + 1e-9 for (p,) in projections)
    assert any(p > 1 for (p,) in projections)  # some finding is new and projected


@pytest.mark.parametrize(
    ("entry", "said"),
    [("{colum: route}", "unexpected keyword argument 'colum'"),
     ("{parser: lower}", "needs `column:` or `extra:`"),
     ("{column: route, extra: route_name}", "needs `column:` or `extra:`"),
     ("{extra: route.name}", "`extra: route.name` is not a plain identifier"),
     ("{extra: no}", "`extra: False` is not a plain identifier"),  # YAML reads `no` as false
     ("{extra: API_Name}", "`extra: API_Name` is a contract column; map the field with `column: api_name`"),
     ("{column: latency_ms, parser: duraton}", "unknown parser 'duraton' (known: clf_time,"),
     ("{column: latency_ms, unit: msec}", "unknown unit 'msec' (known: s, ms, us, ns)")],
)  # fmt: skip
def test_a_mapping_entry_names_a_column_or_an_extra_field(
    tmp_path, monkeypatch, entry, said
) -> None:
    """A mistyped mapping file (they are written by hand) is one clear error naming the file
    and the field, not a traceback."""
    (tmp_path / "tyk.yml").write_text(
        f"shape: tyk\nreader: jsonl\ndescription: Tyk\nfields:\n  Path: {entry}\n", encoding="utf-8"
    )
    monkeypatch.setattr(readers, "SHAPES_DIR", tmp_path)
    readers.shapes.cache_clear()
    try:
        with pytest.raises(WarehouseError, match=re.escape(said)) as err:
            readers.shapes()
        assert "tyk.yml: field 'Path'" in str(err.value)
    finally:
        readers.shapes.cache_clear()
