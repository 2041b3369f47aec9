/*
 * Pattern 3, a service that uses a model itself: Assistant.Ask takes a question (a JSON string)
 * and answers with the model's response ({"text": "...", "usage": {...}, ...}). The model comes
 * from MICRO_AI_PROVIDER, MICRO_AI_API_KEY (or the provider's own variable), MICRO_AI_MODEL
 * and MICRO_AI_BASE_URL.
 *
 *   build/ai_service &
 *   micro call assistant Assistant.Ask '"Why is the sky blue?"'
 */
#include <micro.h>

#include <stdio.h>
#include <string.h>

static void ask(void *model, const uint8_t *req, size_t req_len, micro_reply *reply) {
    char request[4096];
    snprintf(request, sizeof request, "{\"system\": \"Answer in one sentence.\", \"prompt\": %.*s}",
             (int)req_len, (const char *)req);
    char *response = NULL;
    micro_error *err = NULL;
    int32_t status = micro_model_generate(model, request, &response, &err);
    if (status == MICRO_ERR_INVALID_JSON) {
        micro_reply_error(reply, 400, NULL, "ask a question as a JSON string", NULL);
    } else if (status != MICRO_OK) {
        micro_reply_error(reply, status, err->id, err->detail, NULL);
    } else {
        micro_reply_send(reply, (const uint8_t *)response, strlen(response), NULL);
    }
    micro_error_free(err);
    micro_string_free(response);
}

int main(void) {
    micro_model *model = NULL;
    micro_service *svc = NULL;
    micro_error *err = NULL;
    int ok = micro_model_new(NULL, &model, &err) == MICRO_OK &&
        micro_service_new("assistant", NULL, &svc, &err) == MICRO_OK &&
        micro_service_handle(svc, "Assistant.Ask", ask, model, &err) == MICRO_OK &&
        micro_service_describe(svc, "Assistant.Ask", "Answers a question in one sentence",
                               "\"Why is the sky blue?\"", &err) == MICRO_OK &&
        micro_service_run(svc, &err) == MICRO_OK; /* until SIGINT or SIGTERM */
    if (!ok) {
        fprintf(stderr, "ai_service: %s\n", err->message);
        micro_error_free(err);
    }
    micro_service_free(svc);
    micro_model_free(model);
    micro_runtime_shutdown(NULL);
    return ok ? 0 : 1;
}
