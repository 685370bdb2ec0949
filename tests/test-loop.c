#include "tap.h"
int main(void) {
        ok(0, "not written yet");
        return tap_done();
}
