/* The HTTP side of the proof-of-work challenge: when to ask (pressure from sec/), the 428
 * reply, the X-Challenge header; and the sign-in budget that asks instead of locking out. */
#include <stdio.h>
#include <string.h>

#include "cardshop/config.h"
#include "cardshop/sec.h"
#include "internal.h"

static int challenge_on(const struct config *cfg)
{
	return strcmp(cfg->challenge, "off") != 0;
}

/* Whether the request carries a valid solution for route at about level (spent if so). A
 * token issued a moment ago may be one bit easier than what pressure asks for now. */
static int challenge_solved(struct http_req *req, const char *route, int level)
{
	int min = level > 1 ? level - 1 : 1;
	const char *answer = http_header(req, "X-Challenge");
	return answer && sec_challenge_verify(route, answer, min) == 0;
}

/* -1 after a 428 with a new token for route. */
static int challenge_ask(struct http_req *req, const char *route, int level)
{
	char token[SEC_CHALLENGE_TOKEN_MAX];
	sec_challenge_issue(route, level, token);
	http_reply_json(req, 428,
	                json_pack("{s{ss ss} s{ss si}}", "error", "code", "challenge_required",
	                          "message", "solve the challenge and repeat the request",
	                          "challenge", "token", token, "difficulty", level));
	metrics_inc(M_CHALLENGED, 1);
	return -1;
}

/* 0 when a valid solution for route was sent, else -1 after a 428 with a new token. */
static int challenge_demand(struct http_req *req, const char *route, int level)
{
	return challenge_solved(req, route, level) ? 0 : challenge_ask(req, route, level);
}

/* A solved request is the retry of one already counted when its 428 was asked (a token comes
 * only from a 428), so the pressure counts each order or lookup once; every other attempt
 * counts, a flood of unsolved ones too, so the difficulty still rises with it. */
int api_challenge_rate(struct http_req *req, const char *route, enum sec_pressure kind,
                       int64_t threshold)
{
	const struct config *cfg = http_config(req);
	if (!challenge_on(cfg))
		return 0;
	int base = (int)cfg->challenge_difficulty;
	if (http_header(req, "X-Challenge") &&
	    challenge_solved(req, route,
	                     sec_challenge_level_rate(sec_pressure_rate(kind), threshold, base)))
		return 0;
	int64_t rate = sec_pressure_note(kind);
	int level = sec_challenge_level_rate(rate, threshold, base);
	return level > 0 ? challenge_ask(req, route, level) : 0;
}

/* With challenge = off, the old fixed limit: 429 once the budget is spent. */
static int login_limit(struct http_req *req, const char *user, int64_t cip, int64_t cuser)
{
	const struct config *cfg = http_config(req);
	int64_t f = cfg->login_max_failures;
	if (cip <= f && cuser <= f)
		return 0;
	api_login_refused(req, user);
	int64_t wip = sec_rate_check("login-ip", http_client_ip(req), f, cfg->login_window);
	int64_t wuser = sec_rate_check("login-user", user, f, cfg->login_window);
	struct shop_err err = {.retry_after = wip > wuser ? wip : wuser};
	shop_fail(&err, SHOP_RATE_LIMITED, "too many failed sign-ins; try again later");
	api_reply_shop_err(req, &err);
	return -1;
}

/* Each attempt is counted before the password is checked, so concurrent guesses cannot all
 * slip past a check made before any of them failed. Past login_max_failures, the address is
 * asked a challenge that grows one bit per further login_max_failures failures, and the user
 * name (from any address) a challenge at the base difficulty: the right password with a
 * solved challenge always signs in, so nobody can lock the merchant out. */
int api_login_gate(struct http_req *req, const char *user)
{
	const struct config *cfg = http_config(req);
	const char *ip = http_client_ip(req);
	int64_t big = INT64_MAX / 4;
	sec_rate_hit("login-ip", ip, big, cfg->login_window);
	sec_rate_hit("login-user", user, big, cfg->login_window);
	int64_t cip = sec_rate_count("login-ip", ip), cuser = sec_rate_count("login-user", user);
	if (!challenge_on(cfg))
		return login_limit(req, user, cip, cuser);
	int base = (int)cfg->challenge_difficulty;
	int level = sec_challenge_level_failures(cip - 1, cfg->login_max_failures, base);
	if (cuser > cfg->login_max_failures && level < base)
		level = base;
	if (level == 0 || challenge_demand(req, "login", level) == 0)
		return 0;
	api_login_refused(req, user); /* unanswered: not an attempt, so no step up */
	return -1;
}

void api_login_refused(struct http_req *req, const char *user)
{
	sec_rate_undo("login-ip", http_client_ip(req));
	sec_rate_undo("login-user", user);
}

void api_login_succeeded(struct http_req *req, const char *user)
{
	/* Only failures count: the successful attempt is given back. */
	sec_rate_undo("login-ip", http_client_ip(req));
	sec_rate_reset("login-user", user);
}
