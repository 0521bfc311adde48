/* CHECK(condition, format, ...): counts a failure and prints the line and the message when
 * the condition is false (for the small C API test programs; they end printing "N failed"). */
#ifndef CHECK_H
#define CHECK_H
#include <stdio.h>

static int failures;
#define CHECK(condition, ...) \
    do { \
        if (!(condition)) { \
            failures++; \
            printf("FAIL line %d: ", __LINE__); \
            printf(__VA_ARGS__); \
            printf("\n"); \
        } \
    } while (0)
#endif
