package dev.q2.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.q2.block.BlockGraph;
import dev.q2.map.ImageMapper;

/** Fuzzes q2 map as the command runs it: BlockGraph over the whole chain, ImageMapper (the printers only format). */
class MapFuzzTest {
    @FuzzTest(maxDuration = "5m")
    void map(byte[] input) throws Exception {
        Q2Errors.onImage(input, img -> {
            try (BlockGraph chain = BlockGraph.open(FuzzImage.dir(), img.getFileName().toString(), null, false)) {
                ImageMapper.map(chain, 0, -1, ImageMapper.Merging.HUMAN, (e, last) -> {
                });
            }
        });
    }
}
