/* aml_errno, error messages. */
#define _GNU_SOURCE
#include <stdio.h>
#include <aml.h>
#include "internal.h"

__thread int aml_errno __attribute__((tls_model("initial-exec")));

static const char *const aml_error_messages[AML_ERROR_MAX] = {
	[AML_SUCCESS] = "Success",
	[AML_FAILURE] = "Generic failure",
	[AML_ENOMEM] = "Not enough memory",
	[AML_EINVAL] = "Invalid argument",
	[AML_EDOM] = "Value out of bound",
	[AML_ENOTSUP] = "Operation not supported",
	[AML_EBUSY] = "Resource busy",
	[AML_EPERM] = "Operation not permitted",
};

const char *aml_strerror(const int err)
{
	int code = err < 0 ? -err : err;
	return AML_NAME_OF(aml_error_messages, code, "Unknown error");
}

void aml_perror(const char *msg)
{
	if (msg && *msg)
		fprintf(stderr, "%s: %s\n", msg, aml_strerror(aml_errno));
	else
		fprintf(stderr, "%s\n", aml_strerror(aml_errno));
}
