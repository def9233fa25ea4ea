package dev.lora4j.autograd.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class ShapesTest {

    @Test
    void aRowMajorMatrixIsItsOwnRows() {
        INDArray matrix = Nd4j.linspace(DataType.FLOAT, 1, 12, 1).reshape('c', 3, 4);
        assertSame(matrix, Shapes.asRows(matrix));
        INDArray lastTwoRows = matrix.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(1, 3),
                org.nd4j.linalg.indexing.NDArrayIndex.all());
        assertSame(lastTwoRows, Shapes.asRows(lastTwoRows), "contiguous rows at an offset are rows too");
    }

    @Test
    void otherLayoutsAreViewedOrCopiedAsRows() {
        INDArray cube = Nd4j.linspace(DataType.FLOAT, 1, 24, 1).reshape('c', 2, 3, 4);
        INDArray rows = Shapes.asRows(cube);
        assertArrayEquals(new long[] {6, 4}, rows.shape());
        assertEquals(cube.getFloat(1, 2, 3), rows.getFloat(5, 3));

        INDArray transposed = Nd4j.linspace(DataType.FLOAT, 1, 12, 1).reshape('c', 4, 3).transpose(); // [3, 4], 'f'
        INDArray asRows = Shapes.asRows(transposed);
        assertNotSame(transposed, asRows);
        assertArrayEquals(new long[] {3, 4}, asRows.shape());
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 4; j++) {
                assertEquals(transposed.getFloat(i, j), asRows.getFloat(i, j), 0f);
            }
        }
        INDArray columns = Nd4j.linspace(DataType.FLOAT, 1, 12, 1).reshape('c', 3, 4).get(
                org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 2));
        INDArray columnRows = Shapes.asRows(columns);
        assertArrayEquals(new long[] {3, 2}, columnRows.shape());
        assertEquals(9f, columnRows.getFloat(2, 0), 0f);
        assertEquals(10f, columnRows.getFloat(2, 1), 0f);
    }

    @Test
    void reshapeKeepsAnArrayOfTheAskedShapeAndReshapesOthers() {
        INDArray matrix = Nd4j.linspace(DataType.FLOAT, 1, 12, 1).reshape('c', 3, 4);
        assertSame(matrix, Shapes.reshape(matrix, 3, 4));
        INDArray cube = Shapes.reshape(matrix, 3, 2, 2);
        assertArrayEquals(new long[] {3, 2, 2}, cube.shape());
        assertEquals(matrix.getFloat(2, 3), cube.getFloat(2, 1, 1), 0f);
    }
}
