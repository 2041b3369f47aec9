/*
 * A forked child gets a fresh runtime: the parent's threads do not exist in the child, so its
 * first call makes a new runtime with the parent's options (and fresh memory components)
 * instead of hanging on the old one, and the parent carries on as before.
 */
#include "micro.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);  \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

static int read_is(const char *key, const char *want) {
    micro_buf value = {0};
    if (micro_store_read(key, NULL, &value, NULL) != MICRO_OK) return 0;
    int same = value.len == strlen(want) && memcmp(value.ptr, want, value.len) == 0;
    micro_buf_free(&value);
    return same;
}

int main(void) {
    CHECK(micro_runtime_start("{\"registry\": \"memory\", \"broker\": \"memory\", "
                              "\"store\": \"memory\"}", NULL) == MICRO_OK);
    CHECK(micro_store_write("parent", (const uint8_t *)"p", 1, NULL, NULL) == MICRO_OK);
    CHECK(read_is("parent", "p"));

    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        /* The child's runtime is new, made with the parent's options: a new memory store. */
        micro_buf value = {0};
        CHECK(micro_store_read("parent", NULL, &value, NULL) == 404);
        CHECK(micro_store_write("child", (const uint8_t *)"c", 1, NULL, NULL) == MICRO_OK);
        CHECK(read_is("child", "c"));
        _exit(0);
    }
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    CHECK(read_is("parent", "p"));
    micro_buf value = {0};
    CHECK(micro_store_read("child", NULL, &value, NULL) == 404);
    CHECK(micro_runtime_shutdown(NULL) == MICRO_OK);
    printf("test_fork: the child ran on a fresh runtime, the parent on its own\n");
    return 0;
}
