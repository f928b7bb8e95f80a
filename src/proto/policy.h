/* SPDX-License-Identifier: MIT */
/*
 * The Flash/Adobe socket policy protocol without I/O: the request a client sends, port range
 * lists ("123,456-458", "*"), the generated policy document, and validation of a policy file
 * (well-formed XML with the cross-domain-policy vocabulary, checked with Expat).
 */
#ifndef SB_PROTO_POLICY_H
#define SB_PROTO_POLICY_H

#include <stdbool.h>
#include <stddef.h>

/* The whole request is these bytes followed by one NUL byte. */
#define POLICY_REQUEST "<policy-file-request/>"
#define POLICY_REQUEST_LEN (sizeof(POLICY_REQUEST) - 1)
#define POLICY_MAX 65536 /* largest policy document served */
#define POLICY_DOMAINS_MAX 64

/**
 * policy_ports_valid() - is @s a to-ports value: "*", or comma-separated ports and ranges
 * "123,456-458" (1-65535, range bounds in order, no blanks)?
 * Return: true, or false with a static reason in *why.
 */
bool policy_ports_valid(const char *s, size_t n, const char **why);

/**
 * policy_domain_valid() - is @s an allow-access-from domain: "*", a host name or IPv4 address,
 * or "*." followed by a host name?
 */
bool policy_domain_valid(const char *s, size_t n);

/** Accepted values of site-control's permitted-cross-domain-policies for socket policies. */
extern const char *const policy_site_controls[];

/**
 * policy_generate() - write the policy document allowing every domain of @domains (each valid)
 * to reach @ports (valid), with a site-control element unless @site_control is NULL.
 * Return: the length written, or 0 if @cap is too small.
 */
size_t policy_generate(const char *const *domains, size_t ndomains, const char *ports,
                       const char *site_control, char *out, size_t cap);

/**
 * policy_check() - validate a policy document: at most POLICY_MAX bytes, no NUL byte,
 * well-formed XML whose root element is cross-domain-policy; site-control, allow-access-from
 * (domain and to-ports required and valid, secure "true"/"false") and
 * allow-http-request-headers-from are the only children, with no unknown attributes.
 * Return: true, or false with a message in @why ("line 3: to-ports: port out of range").
 */
bool policy_check(const char *doc, size_t n, char *why, size_t cap);

#endif
